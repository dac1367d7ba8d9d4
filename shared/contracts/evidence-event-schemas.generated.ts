// Generated from docs/events/*.v1.schema.json by scripts/generate-event-schemas.js; do not edit (edit the schemas and run the script).
// The published schemas, closed: no property they do not name (what Custody produces).
const EVIDENCE_ID_DEF = {
  "type": "string",
  "pattern": "^ev-[0-9a-f]{32}$",
  "description": "The recording's evidence id: derived from the original's storage account, container, name and version, so the same upload always has the same id."
} as const;

const ORIGINAL_DEF = {
  "type": "object",
  "description": "The original recording: exactly one version of one blob, never modified.",
  "required": [
    "storageAccount",
    "container",
    "name",
    "etag",
    "size",
    "url"
  ],
  "properties": {
    "storageAccount": {
      "type": "string",
      "minLength": 1,
      "maxLength": 64,
      "description": "Storage account name."
    },
    "container": {
      "type": "string",
      "minLength": 1,
      "maxLength": 63
    },
    "name": {
      "type": "string",
      "minLength": 1,
      "maxLength": 1024,
      "description": "Blob name as stored (not URL-encoded)."
    },
    "versionId": {
      "type": "string",
      "minLength": 1,
      "maxLength": 64,
      "description": "Blob version id (absent where the store keeps no versions, e.g. the local emulator)."
    },
    "etag": {
      "type": "string",
      "minLength": 1,
      "maxLength": 128,
      "description": "ETag of the version processed."
    },
    "size": {
      "type": "integer",
      "minimum": 0,
      "description": "Size in bytes."
    },
    "contentType": {
      "type": "string",
      "minLength": 1,
      "maxLength": 256
    },
    "sha256": {
      "type": "string",
      "pattern": "^[0-9a-f]{64}$",
      "description": "SHA-256 of the original's bytes as stored, computed by Custody (absent only when hashing failed)."
    },
    "url": {
      "type": "string",
      "maxLength": 4096,
      "pattern": "^https?://[^?#\\s]+$",
      "description": "The blob's URL, without any query string: never a SAS. Fetch it with your own identity (Storage Blob Data Reader on the container)."
    }
  },
  "additionalProperties": false
} as const;

const CAPTURE_DEF = {
  "type": "object",
  "description": "What the docking station said about the recording, as validated at ingest.",
  "properties": {
    "officerId": {
      "type": "string",
      "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
      "description": "Officer who wore the camera."
    },
    "deviceId": {
      "type": "string",
      "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
      "description": "Camera (device) id."
    },
    "recordedAt": {
      "type": "string",
      "pattern": "^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}(:\\d{2}([.,]\\d{1,9})?)?([Zz]|[+-]\\d{2}:\\d{2})$",
      "description": "When recording started, as the camera's clock said (ISO 8601 with offset)."
    },
    "unit": {
      "type": "string",
      "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
      "description": "Unit or borough the recording belongs to, when the dock sends one (blob metadata `unit`)."
    },
    "deviceSha256": {
      "type": "string",
      "pattern": "^[0-9a-f]{64}$",
      "description": "The SHA-256 the device computed, when it sent one."
    }
  },
  "additionalProperties": false
} as const;

const MEDIA_DEF = {
  "type": "object",
  "description": "Summary of what ffprobe found in the original.",
  "required": [
    "container",
    "dataTracks"
  ],
  "properties": {
    "container": {
      "type": "string",
      "minLength": 1,
      "maxLength": 256,
      "description": "ffprobe's format name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`."
    },
    "durationInSeconds": {
      "type": "number",
      "minimum": 0
    },
    "sizeInBytes": {
      "type": "integer",
      "minimum": 0
    },
    "bitRate": {
      "type": "number",
      "minimum": 0
    },
    "video": {
      "type": "object",
      "description": "The primary video stream (absent for audio-only recordings).",
      "properties": {
        "codec": {
          "type": "string",
          "minLength": 1,
          "maxLength": 64
        },
        "width": {
          "type": "integer",
          "minimum": 0
        },
        "height": {
          "type": "integer",
          "minimum": 0
        },
        "frameRate": {
          "type": "number",
          "minimum": 0
        },
        "rotation": {
          "enum": [
            0,
            90,
            180,
            270
          ]
        },
        "pixelFormat": {
          "type": "string",
          "minLength": 1,
          "maxLength": 64
        },
        "bitDepth": {
          "type": "integer",
          "minimum": 0
        },
        "hdr": {
          "type": "boolean"
        }
      },
      "additionalProperties": false
    },
    "audio": {
      "type": "object",
      "description": "The primary audio stream (absent when there is none).",
      "properties": {
        "codec": {
          "type": "string",
          "minLength": 1,
          "maxLength": 64
        },
        "sampleRate": {
          "type": "integer",
          "minimum": 0
        },
        "channels": {
          "type": "integer",
          "minimum": 0
        }
      },
      "additionalProperties": false
    },
    "dataTracks": {
      "type": "array",
      "maxItems": 1000,
      "items": {
        "type": "string",
        "minLength": 1,
        "maxLength": 256
      },
      "description": "Data/telemetry tracks present (e.g. `gpmd`, `tmcd`); recorded, never copied into renditions."
    },
    "creationTime": {
      "type": "string",
      "minLength": 1,
      "maxLength": 64,
      "description": "Creation time from the container's tags, as written there."
    },
    "device": {
      "type": "object",
      "properties": {
        "make": {
          "type": "string",
          "minLength": 1,
          "maxLength": 256
        },
        "model": {
          "type": "string",
          "minLength": 1,
          "maxLength": 256
        }
      },
      "additionalProperties": false
    }
  },
  "additionalProperties": false
} as const;

const RENDITION_DEF = {
  "type": "object",
  "description": "One derived file in the derived container, at a deterministic path. A `custody reprocess` run writes its own folder and is announced with evidence-updated: a path named in an event keeps the bytes that event described.",
  "required": [
    "kind",
    "stage",
    "name",
    "container",
    "path",
    "contentType",
    "size",
    "sha256"
  ],
  "properties": {
    "kind": {
      "enum": [
        "proxy",
        "audio-proxy",
        "playlist",
        "segment-manifest",
        "poster",
        "thumbnail",
        "sprite",
        "sprite-vtt"
      ]
    },
    "stage": {
      "enum": [
        "transcode",
        "thumbnail"
      ],
      "description": "The stage that made it."
    },
    "name": {
      "type": "string",
      "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
    },
    "container": {
      "type": "string",
      "minLength": 1,
      "maxLength": 63
    },
    "path": {
      "type": "string",
      "minLength": 1,
      "maxLength": 1024,
      "description": "Blob name in `container`: `<evidenceId>/<stage>/<name>` for the pipeline's own run, `<evidenceId>/<stage>/reprocess-<id>/<name>` for a re-run; a JPEG signed with Content Credentials, and the sprite track beside it, are in that folder's `c2pa-<16 hex>/`."
    },
    "contentType": {
      "type": "string",
      "minLength": 1,
      "maxLength": 128
    },
    "size": {
      "type": "integer",
      "minimum": 0,
      "description": "Size in bytes."
    },
    "sha256": {
      "type": "string",
      "pattern": "^[0-9a-f]{64}$",
      "description": "SHA-256 of the rendition's bytes, computed while uploading."
    },
    "url": {
      "type": "string",
      "maxLength": 4096,
      "pattern": "^https?://[^?#\\s]+$",
      "description": "The blob's URL, without any query string: never a SAS. Fetch it with your own identity (Storage Blob Data Reader on the container)."
    },
    "width": {
      "type": "integer",
      "minimum": 0
    },
    "height": {
      "type": "integer",
      "minimum": 0
    },
    "durationInSeconds": {
      "type": "number",
      "minimum": 0
    },
    "timeInSeconds": {
      "type": "number",
      "minimum": 0,
      "description": "Thumbnails and poster: the position in the recording."
    },
    "segmentCount": {
      "type": "integer",
      "minimum": 1,
      "description": "The segment manifest: how many segments the proxy was joined from (its `sha256` is the manifest's digest)."
    }
  },
  "additionalProperties": false
} as const;

const INTEGRITY_FINDING_DEF = {
  "type": "object",
  "required": [
    "code",
    "message",
    "at",
    "expected",
    "actual"
  ],
  "properties": {
    "code": {
      "type": "string",
      "minLength": 1,
      "maxLength": 64,
      "description": "DeviceHashMismatch (the stored original differs from the device's digest), OriginalModified, OriginalMissing (a later fixity check), ConflictingHashClaim (a hash result claimed another SHA-256 than the fingerprint recorded; the fingerprint was kept). New codes may be added: treat an unknown code as a finding to show, not an error."
    },
    "message": {
      "type": "string",
      "minLength": 1,
      "maxLength": 4000
    },
    "at": {
      "type": "string",
      "pattern": "^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}(:\\d{2}([.,]\\d{1,9})?)?([Zz]|[+-]\\d{2}:\\d{2})$",
      "description": "ISO 8601 / RFC 3339 date-time with a time zone."
    },
    "expected": {
      "type": "string",
      "minLength": 1,
      "maxLength": 128
    },
    "actual": {
      "type": "string",
      "minLength": 1,
      "maxLength": 128
    },
    "differingSegments": {
      "type": "array",
      "maxItems": 256,
      "items": {
        "type": "object",
        "required": [
          "index",
          "offset",
          "length"
        ],
        "properties": {
          "index": {
            "type": "integer",
            "minimum": 0
          },
          "offset": {
            "type": "integer",
            "minimum": 0
          },
          "length": {
            "type": "integer",
            "minimum": 0
          }
        },
        "additionalProperties": false
      }
    }
  },
  "additionalProperties": false
} as const;

const CUSTODY_LOG_HEAD_DEF = {
  "type": "object",
  "description": "The head of the recording's custody ledger when Custody decided this event: the SHA-256 of the ledger's last line and how many lines it held. Each ledger line carries the SHA-256 of the line before it, so a verifier holding this head detects any entry removed, reordered or edited before it (`custody verify`; docs/evidence-integrity.md). Absent from events of a deployment without a ledger.",
  "required": [
    "sha256",
    "entries"
  ],
  "properties": {
    "sha256": {
      "type": "string",
      "pattern": "^[0-9a-f]{64}$",
      "description": "SHA-256 of the ledger's last line as stored (UTF-8, without its newline)."
    },
    "entries": {
      "type": "integer",
      "minimum": 1,
      "description": "How many lines the ledger held."
    }
  },
  "additionalProperties": false
} as const;

/** docs/events/evidence-ready.v1.schema.json, closed. */
export const EVIDENCE_READY_DATA_SCHEMA = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://custody.example/schemas/events/evidence-ready.v1.json",
  "title": "org.custody.evidence.ready.v1 data",
  "description": "The `data` of an evidence-ready CloudEvent: a recording is preserved, fingerprinted and every required rendition exists. Additive changes (new optional properties) keep this version: ignore properties you do not know.",
  "type": "object",
  "required": [
    "evidenceId",
    "status",
    "original",
    "capture",
    "renditions",
    "integrityFindings"
  ],
  "properties": {
    "evidenceId": {
      "$ref": "#/$defs/evidenceId"
    },
    "original": {
      "type": "object",
      "allOf": [
        {
          "$ref": "#/$defs/original"
        }
      ],
      "required": [
        "sha256"
      ]
    },
    "capture": {
      "type": "object",
      "allOf": [
        {
          "$ref": "#/$defs/capture"
        }
      ],
      "required": [
        "officerId",
        "deviceId",
        "recordedAt"
      ]
    },
    "media": {
      "$ref": "#/$defs/media"
    },
    "renditions": {
      "type": "array",
      "maxItems": 256,
      "items": {
        "$ref": "#/$defs/rendition"
      }
    },
    "integrityFindings": {
      "type": "array",
      "maxItems": 1000,
      "items": {
        "$ref": "#/$defs/integrityFinding"
      },
      "description": "Integrity findings: a non-empty list means the recording needs an evidence officer's attention (it is still evidence)."
    },
    "status": {
      "const": "ready"
    },
    "custodyLog": {
      "$ref": "#/$defs/custodyLogHead"
    }
  },
  "$defs": {
    "evidenceId": EVIDENCE_ID_DEF,
    "original": ORIGINAL_DEF,
    "capture": CAPTURE_DEF,
    "media": MEDIA_DEF,
    "rendition": RENDITION_DEF,
    "integrityFinding": INTEGRITY_FINDING_DEF,
    "custodyLogHead": CUSTODY_LOG_HEAD_DEF
  },
  "additionalProperties": false
} as const;

/** docs/events/evidence-failed.v1.schema.json, closed. */
export const EVIDENCE_FAILED_DATA_SCHEMA = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://custody.example/schemas/events/evidence-failed.v1.json",
  "title": "org.custody.evidence.failed.v1 data",
  "description": "The `data` of an evidence-failed CloudEvent: a recording could not be made ready (`failed`: a stage failed for good) or was refused at ingest (`rejected`). The original is kept and, where it could be read, hashed. A failed recording may later become ready after an operator's redrive: an evidence-ready event with a different id follows. Additive changes (new optional properties) keep this version: ignore properties you do not know.",
  "type": "object",
  "required": [
    "evidenceId",
    "status",
    "original",
    "renditions",
    "integrityFindings",
    "failure"
  ],
  "properties": {
    "evidenceId": {
      "$ref": "#/$defs/evidenceId"
    },
    "original": {
      "$ref": "#/$defs/original"
    },
    "capture": {
      "$ref": "#/$defs/capture"
    },
    "media": {
      "$ref": "#/$defs/media"
    },
    "renditions": {
      "type": "array",
      "maxItems": 256,
      "items": {
        "$ref": "#/$defs/rendition"
      }
    },
    "integrityFindings": {
      "type": "array",
      "maxItems": 1000,
      "items": {
        "$ref": "#/$defs/integrityFinding"
      },
      "description": "Integrity findings: a non-empty list means the recording needs an evidence officer's attention (it is still evidence)."
    },
    "status": {
      "enum": [
        "failed",
        "rejected"
      ]
    },
    "failure": {
      "type": "object",
      "required": [
        "stage",
        "code",
        "reason"
      ],
      "properties": {
        "stage": {
          "enum": [
            "ingest",
            "hash",
            "transcode",
            "thumbnail"
          ],
          "description": "Where it failed (`ingest` for a rejected recording)."
        },
        "code": {
          "type": "string",
          "minLength": 1,
          "maxLength": 64,
          "description": "Machine-readable cause, e.g. `Rejected`, `UnsupportedCodec`, `CorruptMedia`. New codes may be added."
        },
        "reason": {
          "type": "string",
          "minLength": 1,
          "maxLength": 4000,
          "description": "Human-readable cause, for an evidence officer."
        },
        "reasons": {
          "type": "array",
          "maxItems": 100,
          "description": "A rejected recording: every reason ingest gave.",
          "items": {
            "type": "object",
            "required": [
              "code",
              "message"
            ],
            "properties": {
              "code": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64
              },
              "message": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1000
              },
              "field": {
                "type": "string",
                "minLength": 1,
                "maxLength": 128
              }
            },
            "additionalProperties": false
          }
        }
      },
      "additionalProperties": false
    },
    "custodyLog": {
      "$ref": "#/$defs/custodyLogHead"
    }
  },
  "$defs": {
    "evidenceId": EVIDENCE_ID_DEF,
    "original": ORIGINAL_DEF,
    "capture": CAPTURE_DEF,
    "media": MEDIA_DEF,
    "rendition": RENDITION_DEF,
    "integrityFinding": INTEGRITY_FINDING_DEF,
    "custodyLogHead": CUSTODY_LOG_HEAD_DEF
  },
  "additionalProperties": false
} as const;

/** docs/events/evidence-updated.v1.schema.json, closed. */
export const EVIDENCE_UPDATED_DATA_SCHEMA = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://custody.example/schemas/events/evidence-updated.v1.json",
  "title": "org.custody.evidence.updated.v1 data",
  "description": "The `data` of an evidence-updated CloudEvent: an operator re-ran a media stage of a recording already announced ready (e.g. after an ffmpeg upgrade), and its renditions were replaced by new ones at new paths. The replaced renditions stay where they were, with the digests downstream received. The original and its fingerprint never change. Additive changes (new optional properties) keep this version: ignore properties you do not know.",
  "type": "object",
  "required": [
    "evidenceId",
    "status",
    "original",
    "stage",
    "renditions",
    "replaced",
    "reprocess"
  ],
  "properties": {
    "evidenceId": {
      "$ref": "#/$defs/evidenceId"
    },
    "status": {
      "const": "ready",
      "description": "The recording is still ready: an update follows evidence-ready only."
    },
    "original": {
      "type": "object",
      "allOf": [
        {
          "$ref": "#/$defs/original"
        }
      ],
      "required": [
        "sha256"
      ]
    },
    "capture": {
      "$ref": "#/$defs/capture"
    },
    "stage": {
      "enum": [
        "transcode",
        "thumbnail"
      ],
      "description": "The stage that was re-run."
    },
    "renditions": {
      "type": "array",
      "minItems": 1,
      "maxItems": 256,
      "items": {
        "$ref": "#/$defs/rendition"
      },
      "description": "The stage's renditions now."
    },
    "replaced": {
      "type": "array",
      "maxItems": 256,
      "items": {
        "$ref": "#/$defs/replacedRendition"
      },
      "description": "The stage's renditions before the re-run (as the ready event or an earlier update named them)."
    },
    "reprocess": {
      "type": "object",
      "description": "Who asked for the re-run, when and why (the id is the operator's audit record).",
      "required": [
        "id",
        "requestedBy",
        "requestedAt"
      ],
      "properties": {
        "id": {
          "type": "string",
          "pattern": "^[A-Za-z0-9-]{1,64}$"
        },
        "requestedBy": {
          "type": "string",
          "minLength": 1,
          "maxLength": 256
        },
        "requestedAt": {
          "type": "string",
          "pattern": "^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}(:\\d{2}([.,]\\d{1,9})?)?([Zz]|[+-]\\d{2}:\\d{2})$",
          "maxLength": 64
        },
        "reason": {
          "type": "string",
          "maxLength": 1024
        }
      },
      "additionalProperties": false
    },
    "tools": {
      "type": "object",
      "description": "The tool versions that made the new renditions.",
      "required": [
        "ffmpeg",
        "ffprobe"
      ],
      "properties": {
        "ffmpeg": {
          "type": "string",
          "maxLength": 256
        },
        "ffprobe": {
          "type": "string",
          "maxLength": 256
        }
      },
      "additionalProperties": false
    },
    "custodyLog": {
      "$ref": "#/$defs/custodyLogHead"
    }
  },
  "$defs": {
    "evidenceId": EVIDENCE_ID_DEF,
    "original": ORIGINAL_DEF,
    "capture": CAPTURE_DEF,
    "rendition": {
      "type": "object",
      "description": "One derived file in the derived container. A re-run writes its own folder, so a path named in an event keeps the bytes that event described.",
      "required": [
        "kind",
        "stage",
        "name",
        "container",
        "path",
        "contentType",
        "size",
        "sha256"
      ],
      "properties": {
        "kind": {
          "enum": [
            "proxy",
            "audio-proxy",
            "playlist",
            "segment-manifest",
            "poster",
            "thumbnail",
            "sprite",
            "sprite-vtt"
          ]
        },
        "stage": {
          "enum": [
            "transcode",
            "thumbnail"
          ],
          "description": "The stage that made it."
        },
        "name": {
          "type": "string",
          "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
        },
        "container": {
          "type": "string",
          "minLength": 1,
          "maxLength": 63
        },
        "path": {
          "type": "string",
          "minLength": 1,
          "maxLength": 1024,
          "description": "Blob name in `container`: `<evidenceId>/<stage>/<name>` for the pipeline's own run, `<evidenceId>/<stage>/reprocess-<id>/<name>` for a re-run; a JPEG signed with Content Credentials, and the sprite track beside it, are in that folder's `c2pa-<16 hex>/`."
        },
        "contentType": {
          "type": "string",
          "minLength": 1,
          "maxLength": 128
        },
        "size": {
          "type": "integer",
          "minimum": 0,
          "description": "Size in bytes."
        },
        "sha256": {
          "type": "string",
          "pattern": "^[0-9a-f]{64}$",
          "description": "SHA-256 of the rendition's bytes, computed while uploading."
        },
        "url": {
          "type": "string",
          "maxLength": 4096,
          "pattern": "^https?://[^?#\\s]+$",
          "description": "The blob's URL, without any query string: never a SAS. Fetch it with your own identity (Storage Blob Data Reader on the container)."
        },
        "width": {
          "type": "integer",
          "minimum": 0
        },
        "height": {
          "type": "integer",
          "minimum": 0
        },
        "durationInSeconds": {
          "type": "number",
          "minimum": 0
        },
        "timeInSeconds": {
          "type": "number",
          "minimum": 0,
          "description": "Thumbnails and poster: the position in the recording."
        },
        "segmentCount": {
          "type": "integer",
          "minimum": 1,
          "description": "The segment manifest: how many segments the proxy was joined from (its `sha256` is the manifest's digest)."
        }
      },
      "additionalProperties": false
    },
    "replacedRendition": {
      "type": "object",
      "description": "A rendition the re-run replaced: what downstream was told before. Its blob is still at `path` with this digest.",
      "required": [
        "kind",
        "stage",
        "name",
        "container",
        "path",
        "size",
        "sha256"
      ],
      "properties": {
        "kind": {
          "enum": [
            "proxy",
            "audio-proxy",
            "playlist",
            "segment-manifest",
            "poster",
            "thumbnail",
            "sprite",
            "sprite-vtt"
          ]
        },
        "stage": {
          "enum": [
            "transcode",
            "thumbnail"
          ],
          "description": "The stage that made it."
        },
        "name": {
          "type": "string",
          "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
        },
        "container": {
          "type": "string",
          "minLength": 1,
          "maxLength": 63
        },
        "path": {
          "type": "string",
          "minLength": 1,
          "maxLength": 1024,
          "description": "Blob name in `container`: `<evidenceId>/<stage>/<name>` for the pipeline's own run, `<evidenceId>/<stage>/reprocess-<id>/<name>` for a re-run; a JPEG signed with Content Credentials, and the sprite track beside it, are in that folder's `c2pa-<16 hex>/`."
        },
        "size": {
          "type": "integer",
          "minimum": 0,
          "description": "Size in bytes."
        },
        "sha256": {
          "type": "string",
          "pattern": "^[0-9a-f]{64}$",
          "description": "SHA-256 of the rendition's bytes, computed while uploading."
        },
        "url": {
          "type": "string",
          "maxLength": 4096,
          "pattern": "^https?://[^?#\\s]+$",
          "description": "The blob's URL, without any query string: never a SAS. Fetch it with your own identity (Storage Blob Data Reader on the container)."
        }
      },
      "additionalProperties": false
    },
    "custodyLogHead": CUSTODY_LOG_HEAD_DEF
  },
  "additionalProperties": false
} as const;

/** docs/events/evidence-disposed.v1.schema.json, closed. */
export const EVIDENCE_DISPOSED_DATA_SCHEMA = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://custody.example/schemas/events/evidence-disposed.v1.json",
  "title": "org.custody.evidence.disposed.v1 data",
  "description": "The `data` of an evidence-disposed CloudEvent: a recording's retention ended with no legal hold, so Custody deleted its original and every rendition, as the force's retention schedule requires. Delete your copies of it — the original (by `original.sha256`) and each rendition listed — and anything you derived from them. Custody keeps only a tombstone: the fingerprint, the category, who decided, when and why. Sent once per recording, after the last blob is gone. Additive changes (new optional properties) keep this version: ignore properties you do not know.",
  "type": "object",
  "required": [
    "evidenceId",
    "status",
    "original",
    "disposal",
    "renditions"
  ],
  "properties": {
    "evidenceId": {
      "$ref": "#/$defs/evidenceId"
    },
    "status": {
      "const": "disposed",
      "description": "The recording is disposed of: nothing of it is left in Custody's storage."
    },
    "original": {
      "type": "object",
      "allOf": [
        {
          "$ref": "#/$defs/original"
        }
      ],
      "description": "The original as it was: its `url` no longer resolves. `sha256` is absent only for a recording whose hashing failed."
    },
    "capture": {
      "$ref": "#/$defs/capture"
    },
    "renditions": {
      "type": "array",
      "maxItems": 1024,
      "items": {
        "$ref": "#/$defs/disposedRendition"
      },
      "description": "Every rendition Custody's events named for this recording (its current ones and those a re-run replaced), all deleted. Empty when none was made."
    },
    "disposal": {
      "type": "object",
      "description": "Who decided the disposal, when and why, under which retention category.",
      "required": [
        "commandId",
        "category",
        "retainUntil",
        "decidedAt",
        "decidedBy",
        "reason",
        "deletedAt",
        "derivedBlobsDeleted"
      ],
      "properties": {
        "commandId": {
          "type": "string",
          "pattern": "^[A-Za-z0-9._:-]{1,128}$",
          "description": "The dispose command's id (the disposal timer's, or the sender's)."
        },
        "category": {
          "type": "string",
          "pattern": "^[a-z][a-z0-9-]{0,63}$",
          "description": "The recording's retention category (Custody's retention schedule)."
        },
        "retainUntil": {
          "type": "string",
          "pattern": "^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}(:\\d{2}([.,]\\d{1,9})?)?([Zz]|[+-]\\d{2}:\\d{2})$",
          "maxLength": 64,
          "description": "When its retention ended."
        },
        "decidedAt": {
          "type": "string",
          "pattern": "^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}(:\\d{2}([.,]\\d{1,9})?)?([Zz]|[+-]\\d{2}:\\d{2})$",
          "maxLength": 64,
          "description": "When Custody's index accepted the disposal."
        },
        "decidedBy": {
          "type": "string",
          "minLength": 1,
          "maxLength": 256,
          "description": "Who sent the dispose command (the disposal timer, or an operator)."
        },
        "reason": {
          "type": "string",
          "minLength": 1,
          "maxLength": 2000
        },
        "deletedAt": {
          "type": "string",
          "pattern": "^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}(:\\d{2}([.,]\\d{1,9})?)?([Zz]|[+-]\\d{2}:\\d{2})$",
          "maxLength": 64,
          "description": "When the last blob was deleted."
        },
        "derivedBlobsDeleted": {
          "type": "integer",
          "minimum": 0,
          "description": "How many derived blob versions were deleted (renditions, and every file a run left)."
        }
      },
      "additionalProperties": false
    },
    "custodyLog": {
      "$ref": "#/$defs/custodyLogHead"
    }
  },
  "$defs": {
    "evidenceId": EVIDENCE_ID_DEF,
    "original": ORIGINAL_DEF,
    "capture": CAPTURE_DEF,
    "disposedRendition": {
      "type": "object",
      "description": "A rendition that was deleted with the recording, as Custody's events named it (the ready event, or an update). Delete your copy of it: match it by `sha256`, or by `container` and `path`.",
      "required": [
        "kind",
        "stage",
        "name",
        "container",
        "path",
        "sha256"
      ],
      "properties": {
        "kind": {
          "enum": [
            "proxy",
            "audio-proxy",
            "playlist",
            "segment-manifest",
            "poster",
            "thumbnail",
            "sprite",
            "sprite-vtt"
          ]
        },
        "stage": {
          "enum": [
            "transcode",
            "thumbnail"
          ],
          "description": "The stage that made it."
        },
        "name": {
          "type": "string",
          "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
        },
        "container": {
          "type": "string",
          "minLength": 1,
          "maxLength": 63
        },
        "path": {
          "type": "string",
          "minLength": 1,
          "maxLength": 1024,
          "description": "Blob name in `container` it had (now deleted)."
        },
        "size": {
          "type": "integer",
          "minimum": 0,
          "description": "Size in bytes."
        },
        "sha256": {
          "type": "string",
          "pattern": "^[0-9a-f]{64}$",
          "description": "SHA-256 of the rendition's bytes, computed while uploading."
        }
      },
      "additionalProperties": false
    },
    "custodyLogHead": CUSTODY_LOG_HEAD_DEF
  },
  "additionalProperties": false
} as const;
