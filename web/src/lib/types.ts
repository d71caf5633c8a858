// Shapes of the sixdeg API (see api/schemas.py).

export type Sharing = 'private' | 'network'

export interface User {
  id: number
  email: string
  person_id: number
  sharing: Sharing
  created_at: string
}

export interface SessionOut {
  user: User
  csrf_token: string
  expires_at: string
}

export interface FieldError {
  field: string
  message: string
  code: string
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  instance?: string | null
  errors?: FieldError[] | null
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
  next: string | null
}

export interface TokenOut {
  id: number
  name: string
  prefix: string
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

export interface TokenCreated extends TokenOut {
  token: string
}

export interface SourceOut {
  id: number
  kind: string
  name: string
  created_at: string
  contacts: number
}

export interface WebhookSourceOut extends SourceOut {
  disabled: boolean
  secret_rotated_until: string | null
  webhook_url: string
}

export interface SecretOut {
  source: WebhookSourceOut
  secret: string
}

export type ImportStatus = 'requested' | 'running' | 'done' | 'failed'

export interface ImportOut {
  id: number
  url: string
  status: ImportStatus
  format: string
  filename: string
  source_id: number | null
  progress: number
  rows_total: number
  rows_done: number
  people_created: number
  people_merged: number
  contacts: number
  contacts_updated: number
  contacts_unchanged: number
  errors: number
  failure: string | null
  requested_at: string
  started_at: string | null
  finished_at: string | null
}

export interface ImportErrorOut {
  id: number
  line: number
  reason: string
  raw: string | null
}

export interface MergeOut {
  id: number
  survivor_id: number
  merged_id: number
  reason: string
  created_at: string
  undone_at: string | null
}

export interface PersonCard {
  id: number
  name: string | null
  company: string | null
  title: string | null
}

export interface MergeSuggestionForPerson {
  id: number
  reason: string
  other: PersonCard
}

export interface Step {
  from: number
  to: number
  strength: number
  since: string | null
  owner: 'you' | 'shared' | 'public'
  evidence: Record<string, unknown>
}

export interface PathOut {
  hops: number
  strength: number
  people: PersonCard[]
  steps: Step[]
}

export interface PathsOut {
  source: PersonCard
  target: PersonCard
  paths: PathOut[]
}

export interface MutualsOut {
  person: PersonCard
  mutuals: PersonCard[]
}

export interface StatsOut {
  degrees: Record<string, number>
}

export interface ReachItem {
  person: PersonCard
  path: PathOut
}

export interface ReachOut {
  company: string
  people: ReachItem[]
}

export interface PersonHit {
  id: number
  name: string
  company: string | null
  title: string | null
  location: string | null
  degree: number | null
  highlight: Record<string, number[][]>
}

export interface CompanyFacet {
  company: string
  count: number
}

export interface PeopleOut {
  items: PersonHit[]
  total: number
  facets: { companies: CompanyFacet[] }
  next_cursor: string | null
  next: string | null
}

export interface PersonContact {
  id: number
  source: { id: number; kind: string; name: string }
  fields: Record<string, unknown>
  updated_at: string
}

export interface PersonOut {
  id: number
  name: string
  company: string | null
  title: string | null
  location: string | null
  degree: number | null
  is_you: boolean
  contacts: PersonContact[]
  merges?: (MergeOut & { merged: PersonCard | null })[]
  merge_suggestions?: MergeSuggestionForPerson[]
}

export interface GraphNode {
  id: number
  name: string | null
  company: string | null
  title: string | null
  distance: number
}

export interface GraphEdge {
  source: number
  target: number
  strength: number
}

export interface GraphOut {
  center: number
  nodes: GraphNode[]
  edges: GraphEdge[]
  truncated: boolean
}

export interface AboutOut {
  version: string
  demo: { email: string; password: string } | null
  /** whether this browser's session cookie is valid (the cookie is HttpOnly: the app cannot see it) */
  signed_in: boolean
}
