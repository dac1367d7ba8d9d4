/** The fixity-sample timer's definition: hourly by default, a malformed NCRONTAB fails the start naming the setting. */
import { TIMER_DEFINITIONS } from "../../functions/definitions";
import { DEFAULT_FIXITY_SCHEDULE, fixitySchedule } from "../../functions/fixity-sample";

test("the timers are defined once each; fixity is hourly unless CUSTODY_FIXITY_SCHEDULE says otherwise", () => {
  expect(TIMER_DEFINITIONS.map((d) => [d.kind, d.name])).toEqual([
    ["timer", "fixity-sample"],
    ["timer", "reconcile"],
  ]);
  expect(fixitySchedule({})).toBe(DEFAULT_FIXITY_SCHEDULE);
  expect(DEFAULT_FIXITY_SCHEDULE).toBe("0 0 * * * *");
  expect(fixitySchedule({ CUSTODY_FIXITY_SCHEDULE: " 0  30 2 * * 1-5 " })).toBe("0 30 2 * * 1-5");
  expect(() => fixitySchedule({ CUSTODY_FIXITY_SCHEDULE: "0 * * * *" })).toThrow(/CUSTODY_FIXITY_SCHEDULE must be an NCRONTAB expression with six fields/);
  expect(() => fixitySchedule({ CUSTODY_FIXITY_SCHEDULE: "0 0 * * * ; rm" })).toThrow(/CUSTODY_FIXITY_SCHEDULE/);
});
