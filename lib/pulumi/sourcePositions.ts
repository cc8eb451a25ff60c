// Resources registered by an inline program carry no source position. The Node.js SDK sends, with
// every resource, the file and line that created it and the whole call stack; the engine stores them
// in the state relative to the project's root. An inline program's root is a temp work dir, so each
// position becomes a path from there up into this checkout (project:///../../work/repo/components/…):
// metadata no later run uses, that only ties the state to where this checkout was. Drill stacks must
// carry no path of the checkout that made them (issue 10), so the SDK's capture is turned off.
import * as pulumi from "@pulumi/pulumi";

interface StackTraceHook {
    stackTrace?: (skip: number) => unknown[];
}

export function omitSourcePositions(): void {
    // A private static of pulumi.Resource (resource.js): the only place the SDK collects positions.
    const resource = pulumi.Resource as unknown as StackTraceHook;
    if (typeof resource.stackTrace !== "function") {
        throw new Error("@pulumi/pulumi no longer has Resource.stackTrace: update lib/pulumi/sourcePositions.ts for this SDK version");
    }
    resource.stackTrace = () => [];
}
