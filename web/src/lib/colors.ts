// Stable colours per company for the graphs: the top-N companies get distinct palette colours, others grey.

/** Twelve colours that are easy to tell apart (after Sasha Trubetskoy's list of distinct colours). */
export const PALETTE = [
  '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4',
  '#f032e6', '#469990', '#9a6324', '#bfef45', '#800000', '#808000',
]
export const OTHER_COLOR = '#9ca3af'
export const YOU_COLOR = '#111827'

export function companyKey(company: string | null | undefined): string {
  return (company ?? '').trim().replace(/\s+/g, ' ').toLowerCase()
}

/** FNV-1a: a small stable hash. */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export interface LegendEntry {
  company: string
  count: number
  color: string
}

export interface CompanyColors {
  legend: LegendEntry[]
  colorFor: (company: string | null | undefined) => string
  /** How many people are at companies outside the legend (or have none). */
  others: number
}

/**
 * Count companies, keep the top `topN` (by count, then name), and give each a colour: its hash picks a
 * palette slot; if that slot is taken by a bigger company, the next free one. The same companies thus keep
 * their colours when the graph grows, whatever order people arrive in.
 */
export function companyColors(companies: Iterable<string | null | undefined>, topN = 10): CompanyColors {
  const counts = new Map<string, { name: string; count: number }>()
  let total = 0
  for (const raw of companies) {
    total += 1
    const key = companyKey(raw)
    if (!key) continue
    const entry = counts.get(key)
    if (entry) entry.count += 1
    else counts.set(key, { name: (raw ?? '').trim().replace(/\s+/g, ' '), count: 1 })
  }
  const top = [...counts.entries()]
    .filter(([, v]) => v.count >= 2 || counts.size <= topN)
    .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
    .slice(0, Math.min(topN, PALETTE.length))
  const taken = new Set<number>()
  const colorByKey = new Map<string, string>()
  const legend: LegendEntry[] = []
  for (const [key, { name, count }] of top) {
    let slot = hashString(key) % PALETTE.length
    while (taken.has(slot)) slot = (slot + 1) % PALETTE.length
    taken.add(slot)
    colorByKey.set(key, PALETTE[slot])
    legend.push({ company: name, count, color: PALETTE[slot] })
  }
  const inLegend = legend.reduce((sum, e) => sum + e.count, 0)
  return {
    legend,
    colorFor: (company) => colorByKey.get(companyKey(company)) ?? OTHER_COLOR,
    others: total - inLegend,
  }
}
