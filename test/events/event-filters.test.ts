/**
 * Narrowing a subscription to a consumer's filter (pure): the redrive rule is kept, the
 * consumer's SQL never takes another subscription's redriven copies, and what is restored is
 * the topology's declaration when there is one — which also repairs a run killed mid-way.
 */
import { consumerFilterExpression, planFilterReplacement } from "../../shared/contracts/event-filters";
import type { SubscriptionRule } from "../../shared/contracts/event-filters";
import { declaredRules } from "../../shared/topology";

const sql = (name: string, sqlExpression: string): SubscriptionRule => ({ name, filter: { kind: "sql", sqlExpression } });
const failures = [sql("failed-only", "eventType = 'org.custody.evidence.failed.v1' AND NOT EXISTS(custodyRedriveTo)"), sql("redrive", "custodyRedriveTo = 'failures'")];

test("the consumer's filter excludes redriven copies meant for other subscriptions", () => {
  expect(consumerFilterExpression(" unit = 'camden' OR officerId = 'PC1' ")).toBe("(unit = 'camden' OR officerId = 'PC1') AND NOT EXISTS(custodyRedriveTo)");
});

test("replaces the normal rules, keeps redrive, restores the topology's declaration", () => {
  const plan = planFilterReplacement(failures, "unit = 'camden'", declaredRules("evidence-ready", "failures"));
  expect(plan).toEqual({
    stale: [],
    add: sql("custody-subscribe", "(unit = 'camden') AND NOT EXISTS(custodyRedriveTo)"),
    remove: ["failed-only"],
    restore: [failures[0]],
  });
});

test("a filter left by a killed run is replaced, and the topology's rules are what comes back", () => {
  const leftOver = [sql("custody-subscribe", "(unit = 'x') AND NOT EXISTS(custodyRedriveTo)"), failures[1]];
  const plan = planFilterReplacement(leftOver, "unit = 'y'", declaredRules("evidence-ready", "failures"));
  expect(plan.stale).toEqual(["custody-subscribe"]);
  expect(plan.remove).toEqual([]);
  expect(plan.restore).toEqual([failures[0]]);
});

test("a subscription outside the topology gets back the rules it had; an empty filter is refused", () => {
  const own = [sql("$Default", "1=1")];
  expect(planFilterReplacement(own, "status = 'ready'").restore).toEqual(own);
  expect(declaredRules("evidence-ready", "not-in-the-topology")).toBeUndefined();
  expect(() => planFilterReplacement(own, "  ")).toThrow(/empty/);
});
