/** The fixity-sample timer's definition: hourly by default, a malformed NCRONTAB fails the start naming the setting. */
import { TIMER_DEFINITIONS } from "../../functions/definitions";
import { DEFAULT_FIXITY_SCHEDULE, fixitySchedule } from "../../functions/fixity-sample";

test("the timers are defined once each; fixity is hourly unless CUSTODY_FIXITY_SCHEDULE says otherwise", () => {
  expect(TIMER_DEFINITIONS.map((d) => [d.kind, d.name])).toEqual([
    ["timer", "fixity-sample"],
    ["timer", "reconcile"],
    ["timer", "disposal"],
  ]);
  expect(fixitySchedule({})).toBe(DEFAULT_FIXITY_SCHEDULE);
  expect(DEFAULT_FIXITY_SCHEDULE).toBe("0 0 * * * *");
  expect(fixitySchedule({ CUSTODY_FIXITY_SCHEDULE: " 0  30 2 * * 1-5 " })).toBe("0 30 2 * * 1-5");
  expect(() => fixitySchedule({ CUSTODY_FIXITY_SCHEDULE: "0 * * * *" })).toThrow(/CUSTODY_FIXITY_SCHEDULE must be an NCRONTAB expression with six fields/);
  expect(() => fixitySchedule({ CUSTODY_FIXITY_SCHEDULE: "0 0 * * * ; rm" })).toThrow(/CUSTODY_FIXITY_SCHEDULE/);
});

test.each([
  ["a value out of range", "0 0 25 * * *", /not "0 0 25 \* \* \*": Invalid value for hour: 25\./],
  ["a second out of range", "61 * * * * *", /Invalid value for second/],
  ["a schedule that never fires", "0 0 0 31 2 *", /: it never fires\./],
  ["seven fields", "0 0 * * * * 2030", /: it has 7 fields\./],
  ["a nickname the host does not take", "@daily", /: it has 1 field\./],
])("%s fails the start, naming the setting", (_case, schedule, message) => {
  expect(() => fixitySchedule({ CUSTODY_FIXITY_SCHEDULE: schedule })).toThrow(/CUSTODY_FIXITY_SCHEDULE must be an NCRONTAB expression with six fields/);
  expect(() => fixitySchedule({ CUSTODY_FIXITY_SCHEDULE: schedule })).toThrow(message);
});

test("names, ranges, steps and lists the host takes are accepted", () => {
  for (const schedule of ["0 */5 * * * *", "0 0 9-17 * * Mon-Fri", "30 15 2 1,15 Jan,Jul *", "0 0 0 * * 0"]) expect(fixitySchedule({ CUSTODY_FIXITY_SCHEDULE: schedule })).toBe(schedule);
});
