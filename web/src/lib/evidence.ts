// Why two people are connected, in plain words: a path step's strength, ownership and evidence.
import type { PersonCard, Step } from './types'

export function strengthPercent(strength: number | null | undefined): number {
  if (strength === null || strength === undefined || !Number.isFinite(strength)) return 0
  return Math.round(Math.max(0, Math.min(1, strength)) * 100)
}

export function strengthWord(strength: number): string {
  const p = strengthPercent(strength)
  if (p >= 70) return 'strong'
  if (p >= 40) return 'medium'
  return 'weak'
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** "2019-03-04" or an ISO datetime → "4 Mar 2019"; other strings unchanged. */
export function readableDate(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value)
  if (!m) return value
  const month = MONTHS[Number(m[2]) - 1]
  return month ? `${Number(m[3])} ${month} ${m[1]}` : value
}

function humanKey(key: string): string {
  const words = key.replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').trim().toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

function humanValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—'
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  if (typeof value === 'string') return /^\d{4}-\d{2}-\d{2}/.test(value) ? readableDate(value) : value
  if (Array.isArray(value)) return value.map(humanValue).join(', ')
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${humanKey(k)}: ${humanValue(v)}`)
      .join('; ')
  }
  return String(value)
}

export interface EvidenceContext {
  /** Names of your sources by id, to say "in LinkedIn and Google" rather than "in 2 sources". */
  sourceNames?: Map<number, string> | Record<number, string>
}

function sourceName(ctx: EvidenceContext, id: unknown): string | null {
  const names = ctx.sourceNames
  if (!names || typeof id !== 'number') return null
  return names instanceof Map ? (names.get(id) ?? null) : (names[id] ?? null)
}

/** Readable lines explaining one step of a path. Known evidence fields get sentences; any other field is
 * shown as "Field name: value", so nothing the server says is hidden. */
export function evidenceLines(step: Pick<Step, 'owner' | 'since' | 'evidence'>, ctx: EvidenceContext = {}): string[] {
  const lines: string[] = []
  const ev = step.evidence ?? {}
  const sources = ev.sources
  if (Array.isArray(sources)) {
    const named = sources.map((s) => sourceName(ctx, s)).filter((n): n is string => !!n)
    if (named.length === sources.length && named.length > 0) lines.push(`In your contacts from ${joinWords(named)}`)
    else if (sources.length > 0)
      lines.push(sources.length === 1 ? 'In one of your contact sources' : `In ${sources.length} of your contact sources`)
  } else if (typeof sources === 'number' && sources > 0) {
    lines.push(`Listed in ${sources} contact ${sources === 1 ? 'source' : 'sources'}`)
  }
  if (ev.mutual === true) lines.push('Both have each other as contacts')
  if (ev.same_company === true) lines.push('Work at the same company')
  const since = step.since ?? (typeof ev.connected_on === 'string' ? ev.connected_on : null)
  if (since) lines.push(`Connected since ${readableDate(since)}`)
  for (const [key, value] of Object.entries(ev)) {
    if (['sources', 'mutual', 'same_company', 'connected_on'].includes(key)) continue
    if (value === null || value === undefined || value === false || value === '') continue
    lines.push(`${humanKey(key)}: ${humanValue(value)}`)
  }
  lines.push(ownerLine(step.owner))
  return lines
}

export function ownerLine(owner: Step['owner']): string {
  switch (owner) {
    case 'you':
      return 'From your own contacts'
    case 'shared':
      return "From another sixdeg user's shared network"
    case 'public':
      return 'From a public dataset'
    default:
      return `Source: ${String(owner)}`
  }
}

export function joinWords(words: string[]): string {
  if (words.length <= 1) return words.join('')
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`
}

export function personName(card: Pick<PersonCard, 'name' | 'id'> | null | undefined): string {
  if (!card) return 'Someone'
  return card.name?.trim() || `Person ${card.id}`
}

/** "You → Ada → Grace" for a compact path. The first person is "You" when `youId` matches. */
export function pathSummary(people: PersonCard[], youId?: number | null): string {
  return people.map((p, i) => (i === 0 && (youId === undefined || p.id === youId) ? 'You' : personName(p))).join(' → ')
}
