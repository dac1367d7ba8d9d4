import { textTable } from "../../shared/text/table";

test("columns are as wide as their widest cell: names left, figures right, two spaces apart", () => {
  expect(
    textTable(
      ["ENTITY", "ACTIVE"],
      [
        ["blob-created", "7"],
        ["evidence-received/hash", "1234"],
      ],
    ).split("\n"),
  ).toEqual(["ENTITY                  ACTIVE", "blob-created                 7", "evidence-received/hash    1234"]);
});

test("a rule under the header on request; missing cells print empty", () => {
  expect(textTable(["run", "ms", "MiB"], [["bare", "12"]], { rule: true }).split("\n")).toEqual(["run   ms  MiB", "----  --  ---", "bare  12     "]);
});
