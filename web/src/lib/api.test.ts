import { describe, expect, it, vi } from 'vitest'
import { ApiError, createApi, errorMessage, problemMessage, withQuery } from './api'

interface Call {
  url: string
  init: RequestInit
}

function fakeFetch(responses: Array<{ status: number; body?: unknown; type?: string }>) {
  const calls: Call[] = []
  const fn = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} })
    const r = responses.shift() ?? { status: 200, body: {} }
    const text = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body)
    return new Response(r.status === 204 ? null : text, {
      status: r.status,
      headers: { 'Content-Type': r.type ?? 'application/json' },
    })
  })
  return { fn: fn as unknown as typeof fetch, calls }
}

const header = (c: Call, name: string) => (c.init.headers as Record<string, string>)[name]

describe('api client', () => {
  it('sends the CSRF token on unsafe methods only', async () => {
    const { fn, calls } = fakeFetch([{ status: 200, body: { ok: 1 } }, { status: 200, body: {} }, { status: 200, body: {} }, { status: 204 }])
    const api = createApi({ fetch: fn, csrf: () => 'tok-123' })
    await api.get('/v1/me')
    await api.post('/v1/tokens', { name: 'x' })
    await api.patch('/v1/me', { sharing: 'network' })
    await api.del('/v1/tokens/4')
    expect(header(calls[0], 'X-CSRF-Token')).toBeUndefined()
    expect(header(calls[1], 'X-CSRF-Token')).toBe('tok-123')
    expect(header(calls[2], 'X-CSRF-Token')).toBe('tok-123')
    expect(header(calls[3], 'X-CSRF-Token')).toBe('tok-123')
    expect(calls[1].init.method).toBe('POST')
    expect(calls[1].init.body).toBe('{"name":"x"}')
    expect(header(calls[1], 'Content-Type')).toBe('application/json')
    expect(calls[1].init.credentials).toBe('same-origin')
  })

  it('reads the token at request time (after log-in)', async () => {
    let token: string | null = null
    const { fn, calls } = fakeFetch([{ status: 200, body: {} }, { status: 200, body: {} }])
    const api = createApi({ fetch: fn, csrf: () => token })
    await api.post('/v1/auth/login', {})
    token = 'later'
    await api.post('/v1/auth/logout')
    expect(header(calls[0], 'X-CSRF-Token')).toBeUndefined()
    expect(header(calls[1], 'X-CSRF-Token')).toBe('later')
  })

  it('uploads multipart forms without setting Content-Type itself', async () => {
    const { fn, calls } = fakeFetch([{ status: 202, body: { id: 1 } }])
    const api = createApi({ fetch: fn, csrf: () => 't' })
    const form = new FormData()
    form.append('file', new Blob(['a,b']), 'c.csv')
    expect(await api.upload('/v1/imports', form)).toEqual({ id: 1 })
    expect(calls[0].init.body).toBe(form)
    expect(header(calls[0], 'Content-Type')).toBeUndefined()
    expect(header(calls[0], 'X-CSRF-Token')).toBe('t')
  })

  it('builds query strings, skipping empty values', async () => {
    expect(withQuery('/v1/people', { q: 'ada l', company: '', degree: undefined, limit: 20 })).toBe('/v1/people?q=ada+l&limit=20')
    expect(withQuery('/v1/people', {})).toBe('/v1/people')
    const { fn, calls } = fakeFetch([{ status: 200, body: { items: [] } }])
    await createApi({ fetch: fn, csrf: () => null }).get('/v1/people/suggest', { q: 'Zoë' })
    expect(calls[0].url).toBe('/v1/people/suggest?q=Zo%C3%AB')
  })

  it('turns a problem document into an ApiError with its detail', async () => {
    const problem = {
      type: 'https://sixdeg.dev/problems/conflict',
      title: 'Conflict',
      status: 409,
      detail: 'You already have a webhook source called "crm".',
    }
    const { fn } = fakeFetch([{ status: 409, body: problem, type: 'application/problem+json' }])
    const api = createApi({ fetch: fn, csrf: () => 't' })
    const err = (await api.post('/v1/sources', { kind: 'webhook', name: 'crm' }).catch((e) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(409)
    expect(err.message).toBe('You already have a webhook source called "crm".')
    expect(err.problem?.title).toBe('Conflict')
  })

  it('adds field errors the detail does not already say, and finds them by field', async () => {
    const body = {
      type: 'x',
      title: 'Unprocessable Content',
      status: 422,
      detail: 'The request is not valid.',
      errors: [{ field: 'password', message: 'at least 10 characters', code: 'too_short' }],
    }
    expect(problemMessage(422, body)).toBe('The request is not valid. (password: at least 10 characters)')
    const same = { ...body, detail: 'at least 10 characters' }
    expect(problemMessage(422, same)).toBe('at least 10 characters')
    const err = new ApiError(422, 'x', body)
    expect(err.fieldMessage('password')).toBe('at least 10 characters')
    expect(err.fieldMessage('email')).toBeNull()
  })

  it('explains non-problem failures in plain words', async () => {
    expect(problemMessage(502, '<html>bad gateway</html>')).toMatch(/not reachable/)
    expect(problemMessage(500, null)).toMatch(/our side/)
    expect(problemMessage(418, null)).toMatch(/HTTP 418/)
    const failing = vi.fn(async () => {
      throw new TypeError('Failed to fetch')
    }) as unknown as typeof fetch
    const err = (await createApi({ fetch: failing, csrf: () => null }).get('/v1/me').catch((e) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(0)
    expect(errorMessage(err)).toMatch(/connection/)
  })

  it('reports a 401 outside the auth endpoints', async () => {
    const onUnauthorized = vi.fn()
    const { fn } = fakeFetch([
      { status: 401, body: { type: 'x', title: 'Unauthorized', status: 401, detail: 'Log in first.' } },
      { status: 401, body: { type: 'x', title: 'Unauthorized', status: 401, detail: 'The email or the password is not correct.' } },
    ])
    const api = createApi({ fetch: fn, csrf: () => null, onUnauthorized })
    await expect(api.get('/v1/me')).rejects.toThrow('Log in first.')
    await expect(api.post('/v1/auth/login', {})).rejects.toThrow('The email or the password is not correct.')
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
    expect(onUnauthorized).toHaveBeenCalledWith('/v1/me')
  })

  it('returns undefined for 204', async () => {
    const { fn } = fakeFetch([{ status: 204 }])
    expect(await createApi({ fetch: fn, csrf: () => 't' }).del('/v1/tokens/1')).toBeUndefined()
  })
})
