/**
 * Peggy grammar for the Service Bus SQL filter and SQL rule action languages
 * (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-messaging-sql-filter and
 * .../service-bus-messaging-sql-rule-action). It builds the tree described in sql-ast.ts.
 *
 * Kept as a TypeScript string rather than a .peggy file because tsc does not copy non-TS files
 * into dist/, and the parser is generated from this text at run time (sql-parser.ts).
 * String.raw keeps backslashes as written; the text must not contain a backtick or "${".
 *
 * Start rules: `Filter` (one predicate) and `Action` (one or more SET / REMOVE statements,
 * each optionally followed by ';').
 *
 * Error-message design: the rules for the first token of an operand (literals, names, "(",
 * unary signs) are all named "expression", so a missing operand reads
 * "expected expression but end of input found" instead of a list of every token that could
 * start one. Whitespace is named "whitespace" and dropped from messages by sql-parser.ts.
 * Problems that are certain whatever the parser would try next (unterminated strings, unknown
 * functions, out-of-range integers) are raised with error() so they keep their own wording.
 */
export const SQL_GRAMMAR = String.raw`
{{
  function positionOf(range) {
    return { line: range.start.line, column: range.start.column };
  }

  function foldLeft(head, tail, kind) {
    return tail.reduce(function (left, step) {
      return { kind: kind, operator: step.operator, left: left, right: step.right };
    }, head);
  }

  function foldLogical(head, tail, kind) {
    return tail.reduce(function (left, right) {
      return { kind: kind, left: left, right: right };
    }, head);
  }

  var INT64_MAX = BigInt("9223372036854775807");
}}

// ---------------------------------------------------------------- start rules

Filter
  = _ predicate:Predicate _ { return predicate; }

Action
  = _ statements:(statement:Statement _ (";" _)? { return statement; })+ { return statements; }

Statement
  = SET _ target:PropertyReference _ "=" _ value:Expression
    { return { kind: "set", target: target, value: value }; }
  / REMOVE _ target:PropertyReference
    { return { kind: "remove", target: target }; }

// Where only a property may stand (SET / REMOVE targets, EXISTS), say so in errors.
PropertyReference "property"
  = Property

// ---------------------------------------------------------------- predicates
// Precedence, loosest first: OR, AND, NOT, then the comparison-like conditions.

Predicate
  = head:AndPredicate tail:(_ OR _ right:AndPredicate { return right; })*
    { return foldLogical(head, tail, "or"); }

AndPredicate
  = head:NotPredicate tail:(_ AND _ right:NotPredicate { return right; })*
    { return foldLogical(head, tail, "and"); }

NotPredicate
  = NOT _ operand:NotPredicate { return { kind: "not", operand: operand }; }
  / Condition

// The expression forms come before the parenthesized predicate so that "(a + 1) = 2" is read
// as a comparison; "(a = 1)" fails as an expression and falls through to the last branch.
Condition
  = EXISTS _ "(" _ property:PropertyReference _ ")" { return { kind: "exists", property: property }; }
  / left:Expression _ condition:ConditionTail { condition.left = left; return condition; }
  / "(" _ predicate:Predicate _ ")" { return predicate; }

ConditionTail
  = IS _ negated:(NOT _)? NULL
    { return { kind: "isNull", negated: negated !== null }; }
  / negated:(NOT _)? IN _ "(" _ head:Expression tail:(_ "," _ item:Expression { return item; })* _ ")"
    { return { kind: "in", negated: negated !== null, list: [head].concat(tail) }; }
  / negated:(NOT _)? like:LIKE _ pattern:Expression escape:(_ ESCAPE _ escape:Expression { return escape; })?
    { return { kind: "like", negated: negated !== null, pattern: pattern, escape: escape, position: like }; }
  / operator:ComparisonOperator _ right:Expression
    { return { kind: "compare", operator: operator, right: right }; }

ComparisonOperator "comparison operator"
  = "<>" { return "<>"; }
  / "!=" { return "<>"; }
  / "<="
  / ">="
  / "="
  / "<"
  / ">"

// ---------------------------------------------------------------- expressions

Expression
  = head:Term tail:(_ operator:AdditiveOperator _ right:Term { return { operator: operator, right: right }; })*
    { return foldLeft(head, tail, "binary"); }

Term
  = head:Factor tail:(_ operator:MultiplicativeOperator _ right:Factor { return { operator: operator, right: right }; })*
    { return foldLeft(head, tail, "binary"); }

AdditiveOperator "arithmetic operator"
  = "+" / "-"

MultiplicativeOperator "arithmetic operator"
  = "*" / "/" / "%"

Factor
  = operator:UnarySign _ operand:Factor { return { kind: "unary", operator: operator, operand: operand }; }
  / Primary

UnarySign "expression"
  = "+" / "-"

Primary
  = OpenParen _ expression:Expression _ ")" { return expression; }
  / NumberLiteral
  / StringLiteral
  / KeywordLiteral
  / Parameter
  / FunctionCall
  / Property

OpenParen "expression"
  = "("

// ---------------------------------------------------------------- constants

// Integer constants are Int64 in the service, everything with a point or exponent is Double.
NumberLiteral "expression"
  = digits:$(([0-9]+ ("." [0-9]*)? / "." [0-9]+) ([eE] [+-]? [0-9]+)?) !IdentifierPart
    {
      if (/[.eE]/.test(digits)) {
        return { kind: "literal", value: Number(digits), numberType: "double" };
      }
      if (BigInt(digits) > INT64_MAX) {
        error("integer constant " + digits + " is out of the Int64 range");
      }
      return { kind: "literal", value: Number(digits), numberType: "integer" };
    }

StringLiteral "expression"
  = "'" chars:$(([^']+ / "''")*) "'"
    { return { kind: "literal", value: chars.replace(/''/g, "'") }; }
  / "'" .*
    { error("unterminated string constant"); }

KeywordLiteral "expression"
  = TRUE { return { kind: "literal", value: true }; }
  / FALSE { return { kind: "literal", value: false }; }
  / NULL { return { kind: "literal", value: null }; }

Parameter "expression"
  = name:$("@" IdentifierPart+)
    { return { kind: "parameter", name: name, position: positionOf(location()) }; }

// ---------------------------------------------------------------- functions

FunctionCall
  = name:FunctionName _ "(" _ args:ArgumentList? _ ")"
    {
      var lower = name.toLowerCase();
      var list = args === null ? [] : args;
      if (lower === "newid") {
        if (list.length !== 0) error("newid() takes no arguments");
        return { kind: "function", name: "newid", args: list, position: positionOf(location()) };
      }
      if (lower === "property" || lower === "p") {
        if (list.length !== 1) error(name + "() takes exactly one argument");
        return { kind: "function", name: "property", args: list, position: positionOf(location()) };
      }
      error("unknown function '" + name + "'; the supported functions are newid(), property(name) and p(name)");
    }

FunctionName "expression"
  = !ReservedWord name:IdentifierText { return name; }

ArgumentList
  = head:Expression tail:(_ "," _ item:Expression { return item; })*
    { return [head].concat(tail); }

// ---------------------------------------------------------------- properties

Property
  = scope:Scope "." name:ScopedName
    { return { kind: "property", scope: scope, name: name, position: positionOf(location()) }; }
  / name:PropertyName
    { return { kind: "property", scope: "user", name: name, position: positionOf(location()) }; }

Scope "expression"
  = scope:$("sys"i / "user"i) &"." { return scope.toLowerCase(); }

// After an explicit scope the name cannot be mistaken for a keyword, so any identifier goes.
ScopedName "property name"
  = IdentifierText / DelimitedIdentifier / QuotedIdentifier

PropertyName "expression"
  = RegularIdentifier / DelimitedIdentifier / QuotedIdentifier

// [[:IsLetter:]][_[:IsLetter:][:IsDigit:]]* per the docs, and not a reserved keyword.
RegularIdentifier
  = !ReservedWord name:IdentifierText { return name; }

IdentifierText
  = $([\p{L}]u IdentifierPart*)

IdentifierPart
  = [_\p{L}\p{Nd}]u

// [Property With Space]; a right bracket inside is written twice.
DelimitedIdentifier
  = "[" chars:$(([^\]]+ / "]]")*) "]" { return chars.replace(/\]\]/g, "]"); }
  / "[" .* { error("unterminated [delimited identifier]"); }

// "Contoso & Northwind"; a double quote inside is written twice.
QuotedIdentifier
  = '"' chars:$(([^"]+ / '""')*) '"' { return chars.replace(/""/g, '"'); }
  / '"' .* { error("unterminated \"quoted identifier\""); }

// ---------------------------------------------------------------- keywords (case-insensitive)

ReservedWord
  = ("AND"i / "OR"i / "NOT"i / "IS"i / "NULL"i / "IN"i / "LIKE"i / "ESCAPE"i / "EXISTS"i / "TRUE"i / "FALSE"i) !IdentifierPart

AND    = "AND"i    !IdentifierPart
OR     = "OR"i     !IdentifierPart
NOT    = "NOT"i    !IdentifierPart
IS     = "IS"i     !IdentifierPart
NULL   = "NULL"i   !IdentifierPart
IN     = "IN"i     !IdentifierPart
LIKE   = "LIKE"i   !IdentifierPart { return positionOf(location()); }
ESCAPE = "ESCAPE"i !IdentifierPart
EXISTS = "EXISTS"i !IdentifierPart
TRUE   = "TRUE"i   !IdentifierPart
FALSE  = "FALSE"i  !IdentifierPart
SET    = "SET"i    !IdentifierPart
REMOVE = "REMOVE"i !IdentifierPart

_ "whitespace"
  = [ \t\r\n]*
`;
