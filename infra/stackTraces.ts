/**
 * @pulumi/pulumi registers source-map-support, and its SDK records a formatted stack trace for every
 * promise it makes (to report leaks). Source-mapping each of those frames is most of the program's
 * evaluation time at fleet scale: for 1,000 devices under mocks 28.7 s with it, 14.6 s without
 * (`npm run bench:program`). This program runs by Node's type stripping, which keeps TypeScript line
 * and column numbers, so it needs no source maps; V8's own formatting is used instead.
 */
export function useNativeStackTraces(): void {
  Reflect.deleteProperty(Error, "prepareStackTrace");
}
