import { describe, expect, it } from "vitest";
import { BENCH_USAGE, parseBenchArgs } from "../../lib/bench/args";
import { formatSize, parseSize, parseSizeList } from "../../lib/bench/size";

describe("parseSize", () => {
    it("reads binary units, as postgresql.conf does", () => {
        expect(parseSize("200MB")).toBe(200 * 2 ** 20);
        expect(parseSize("1GB")).toBe(2 ** 30);
        expect(parseSize("1GiB")).toBe(2 ** 30);
        expect(parseSize("1.5GiB")).toBe(1.5 * 2 ** 30);
        expect(parseSize("512 kB")).toBe(512 * 1024);
        expect(parseSize("2g")).toBe(2 * 2 ** 30);
        expect(parseSize(".5GB")).toBe(2 ** 29);
        expect(parseSize("1048576")).toBe(1048576);
    });
    it("refuses what it does not understand", () => {
        for (const bad of ["", "GB", "1XB", "-1GB", "1,5GB", "one GB", "1 G B"]) {
            expect(() => parseSize(bad), bad).toThrow(/not understood/);
        }
        expect(() => parseSize("0MB")).toThrow(/greater than zero/);
    });
});

describe("parseSizeList", () => {
    it("keeps the order given", () => {
        expect(parseSizeList("1GB, 200MB")).toEqual([2 ** 30, 200 * 2 ** 20]);
    });
    it("refuses empty entries", () => {
        expect(() => parseSizeList("200MB,,1GB")).toThrow(/empty entry/);
        expect(() => parseSizeList("200MB,")).toThrow(/empty entry/);
    });
});

describe("formatSize", () => {
    it("prints binary units like pg_size_pretty", () => {
        expect(formatSize(2 ** 30)).toBe("1 GB");
        expect(formatSize(200 * 2 ** 20)).toBe("200 MB");
        expect(formatSize(1.5 * 2 ** 30)).toBe("1.5 GB");
        expect(formatSize(104_237_000)).toBe("99.41 MB");
        expect(formatSize(512)).toBe("512 B");
    });
    it("round-trips with parseSize", () => {
        for (const text of ["200 MB", "1 GB", "1.5 GB", "64 kB"]) expect(formatSize(parseSize(text))).toBe(text);
    });
});

describe("parseBenchArgs", () => {
    it("defaults to 1 GB and 2 jobs", () => {
        expect(parseBenchArgs([])).toEqual({ sizes: [2 ** 30], jobs: 2, out: undefined, pitr: false });
    });
    it("reads --flag value and --flag=value", () => {
        expect(parseBenchArgs(["--size", "200MB,1GB", "--jobs=4", "--out", "r.json"])).toEqual({
            sizes: [200 * 2 ** 20, 2 ** 30],
            jobs: 4,
            out: "r.json",
            pitr: false,
        });
    });
    it("answers help", () => {
        expect(parseBenchArgs(["--help"])).toBe("help");
        expect(BENCH_USAGE).toMatch(/--size/);
    });
    it("refuses unknown flags, missing values and bad jobs", () => {
        expect(() => parseBenchArgs(["--keep-cluster"])).toThrow(/unknown argument '--keep-cluster'/);
        expect(() => parseBenchArgs(["--size"])).toThrow(/--size needs a value/);
        expect(() => parseBenchArgs(["--out="])).toThrow(/--out needs a value/);
        expect(() => parseBenchArgs(["--jobs", "0"])).toThrow(/--jobs must be a whole number/);
        expect(() => parseBenchArgs(["--jobs", "1.5"])).toThrow(/--jobs must be a whole number/);
        expect(() => parseBenchArgs(["--size", "lots"])).toThrow(/not understood/);
    });
});
