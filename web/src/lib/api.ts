// A small fetch wrapper for the sixdeg API: JSON in and out, the CSRF header on unsafe requests,
// and RFC 9457 problem documents turned into errors whose message is fit to show to a person.
import type { Problem } from './types'

export const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem | null

  constructor(status: number, message: string, problem: Problem | null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.problem = problem
  }

  /** The message for one field (from the problem's `errors`), if the server named it. */
  fieldMessage(field: string): string | null {
    const hit = this.problem?.errors?.find((e) => e.field === field || e.field.endsWith(`.${field}`))
    return hit ? hit.message : null
  }
}

const STATUS_HINTS: Record<number, string> = {
  0: 'Could not reach sixdeg. Check your connection and try again.',
  401: 'Your session has ended. Log in again.',
  403: 'You are not allowed to do that.',
  404: 'That was not found. It may have been deleted.',
  413: 'That file is too large.',
  429: 'Too many requests. Wait a moment, then try again.',
  500: 'Something went wrong on our side. Try again in a moment.',
  502: 'sixdeg is not reachable right now. Try again in a moment.',
  503: 'sixdeg is busy or restarting. Try again in a moment.',
}

function isProblem(body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && 'status' in body && ('detail' in body || 'title' in body)
}

/** The message to show for an error answer: the problem's `detail` (plus any field messages it does not
 * already say), else its title, else a plain-words hint for the status. */
export function problemMessage(status: number, body: unknown): string {
  if (isProblem(body)) {
    let message = (body.detail || body.title || '').trim()
    const extra = (body.errors ?? [])
      .map((e) => (e.field && e.field !== '(body)' ? `${e.field}: ${e.message}` : e.message))
      .filter((m) => m && !message.includes(m.replace(/^[^:]*: /, '')))
    if (extra.length) message = message ? `${message} (${extra.join('; ')})` : extra.join('; ')
    if (message) return message
  }
  return STATUS_HINTS[status] ?? (status >= 500 ? STATUS_HINTS[500] : `The request failed (HTTP ${status}). Try again.`)
}

export type Query = Record<string, string | number | boolean | null | undefined>

export function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === '') continue
    params.set(key, String(value))
  }
  const qs = params.toString()
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path
}

export interface ApiOptions {
  fetch?: typeof fetch
  base?: string
  /** The CSRF token of the current session (null when logged out). */
  csrf: () => string | null
  /** Called on any 401 answer (except from the log-in calls themselves). */
  onUnauthorized?: (path: string) => void
}

export interface RequestOptions {
  query?: Query
  json?: unknown
  form?: FormData
  signal?: AbortSignal
}

export function createApi(options: ApiOptions) {
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const base = options.base ?? ''

  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' }
    let body: BodyInit | undefined
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(opts.json)
    } else if (opts.form) {
      body = opts.form // the browser sets the multipart boundary
    }
    const upper = method.toUpperCase()
    if (UNSAFE_METHODS.has(upper)) {
      const token = options.csrf()
      if (token) headers['X-CSRF-Token'] = token
    }
    let response: Response
    try {
      response = await doFetch(base + withQuery(path, opts.query), {
        method: upper,
        headers,
        body,
        credentials: 'same-origin',
        signal: opts.signal,
      })
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err
      throw new ApiError(0, problemMessage(0, null), null)
    }
    if (response.status === 204) return undefined as T
    const text = await response.text()
    let parsed: unknown = null
    if (text) {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = null
      }
    }
    if (!response.ok) {
      if (response.status === 401 && !path.startsWith('/v1/auth/')) options.onUnauthorized?.(path)
      throw new ApiError(response.status, problemMessage(response.status, parsed), isProblem(parsed) ? parsed : null)
    }
    return parsed as T
  }

  return {
    request,
    get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }),
    post: <T>(path: string, json?: unknown) => request<T>('POST', path, { json }),
    patch: <T>(path: string, json?: unknown) => request<T>('PATCH', path, { json }),
    del: <T>(path: string) => request<T>('DELETE', path),
    upload: <T>(path: string, form: FormData) => request<T>('POST', path, { form }),
  }
}

export type Api = ReturnType<typeof createApi>

/** A message for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message
  if (err instanceof Error && err.message) return err.message
  return 'Something went wrong. Try again.'
}
