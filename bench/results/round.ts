/** `value` rounded to `digits` decimal places: how figures are stored in records and reports. */
export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
