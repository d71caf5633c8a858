// Search highlights: [start, end) ranges (in characters, as the server counts them: code points) → segments.

export interface Segment {
  text: string
  match: boolean
}

/** Sort, clamp and merge overlapping or touching ranges; drop empty or invalid ones. */
export function normalizeRanges(ranges: readonly (readonly number[])[] | undefined, length: number): [number, number][] {
  const clean = (ranges ?? [])
    .filter((r) => Array.isArray(r) && r.length >= 2 && Number.isFinite(r[0]) && Number.isFinite(r[1]))
    .map(([s, e]) => [Math.max(0, Math.min(length, Math.floor(s))), Math.max(0, Math.min(length, Math.floor(e)))] as [number, number])
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const merged: [number, number][] = []
  for (const [s, e] of clean) {
    const last = merged[merged.length - 1]
    if (last && s <= last[1]) last[1] = Math.max(last[1], e)
    else merged.push([s, e])
  }
  return merged
}

/** Split `text` into plain and matched segments. Ranges index code points (so emoji and other astral
 * characters count as one, as in Python). */
export function highlightSegments(text: string | null | undefined, ranges?: readonly (readonly number[])[]): Segment[] {
  if (!text) return []
  const chars = Array.from(text)
  const merged = normalizeRanges(ranges, chars.length)
  const out: Segment[] = []
  let at = 0
  for (const [s, e] of merged) {
    if (s > at) out.push({ text: chars.slice(at, s).join(''), match: false })
    out.push({ text: chars.slice(s, e).join(''), match: true })
    at = e
  }
  if (at < chars.length) out.push({ text: chars.slice(at).join(''), match: false })
  return out
}
