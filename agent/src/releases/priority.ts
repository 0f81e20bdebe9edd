/**
 * Release priorities (ROLLOUT.md §B3): every track owns a band of 100,000 values, base tracks in
 * 1–999,999 and layer tracks from 1,000,000, so priorities are unique between tracks, rise with each
 * release of a track, stay below 2³¹ (the service SDKs type priority as a 32-bit int) and every layer
 * outranks every base — IoT Hub applies a layer only above the base it stacks on
 * (`how-to-deploy-at-scale.md`; Azure/iotedge#6685).
 */
export const TRACK_BAND = 100_000;
export const MAX_BASE_TRACKS = 10;
const LAYER_START = 1_000_000;
export const MAX_PRIORITY = 2 ** 31 - 1;
export const MAX_LAYER_TRACKS = Math.floor((MAX_PRIORITY - LAYER_START) / TRACK_BAND);
/** Releases a track can make before its band is used up. */
export const MAX_SEQUENCE = TRACK_BAND - 2;

/** Base track `index` (0–9) or layer track `index`; `sequence` counts the track's releases from 0. */
export function releasePriority(layer: boolean, index: number, sequence: number): number {
  return (layer ? LAYER_START : 1) + index * TRACK_BAND + sequence;
}

/** Band index per track name: base and layer tracks each in name order. */
export function trackIndexes(
  tracks: readonly { readonly name: string; readonly layer: boolean }[],
): Map<string, number> {
  const indexes = new Map<string, number>();
  for (const layer of [false, true]) {
    tracks
      .filter((t) => t.layer === layer)
      .map((t) => t.name)
      .sort()
      .forEach((name, i) => indexes.set(name, i));
  }
  return indexes;
}
