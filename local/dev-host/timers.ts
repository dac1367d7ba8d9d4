/**
 * Timer-triggered functions on the dev host. The Functions host runs them on their NCRONTAB
 * schedule; the dev host has no NCRONTAB and runs each one every `localIntervalInMs(settings)`
 * instead — only when that is above 0 (e.g. CUSTODY_FIXITY_INTERVAL_MS), so a local stack
 * does no background re-hashing unless asked. A run never overlaps the previous one of the
 * same function (a slow run delays the next, as the host's singleton lock does); a failed run
 * is logged and the next one comes at the next interval.
 */
import { randomUUID } from "node:crypto";
import { InvocationContext } from "@azure/functions";
import type { TimerFunctionDefinition } from "../../functions/invocation";
import type { Logger } from "../../shared/logging";
import type { Settings } from "../../shared/settings";

export interface TimerRunner {
  /** Stops scheduling and waits for running invocations. */
  stop(): Promise<void>;
}

export function startTimers(definitions: readonly TimerFunctionDefinition[], settings: Settings, log: Logger): TimerRunner {
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<void>>();
  for (const definition of definitions) {
    const intervalInMs = definition.localIntervalInMs(settings);
    if (intervalInMs <= 0) continue;
    const timerLog = log.child({ function: definition.name });
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      const run = invoke(definition, timerLog).finally(() => {
        busy = false;
        running.delete(run);
      });
      running.add(run);
    }, intervalInMs);
    timer.unref();
    timers.push(timer);
    timerLog.info("timer scheduled (local interval)", { intervalInMs });
  }
  return {
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...running]);
    },
  };
}

async function invoke(definition: TimerFunctionDefinition, log: Logger): Promise<void> {
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: definition.name,
    logHandler: (level, ...args) => {
      const line = args.map(String).join(" ");
      if (level === "error" || level === "critical") log.error(line);
      else if (level === "warning") log.warn(line);
      else if (level === "debug" || level === "trace") log.debug(line);
      else log.info(line);
    },
  });
  try {
    await definition.handler({ isPastDue: false, schedule: { adjustForDST: false } }, context);
  } catch (error) {
    log.warn("timer run failed; the next run comes at the next interval", { error });
  }
}
