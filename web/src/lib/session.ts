// The logged-in session (user + CSRF token) and the one API client the app uses.
import { reactive } from 'vue'
import { createApi } from './api'
import type { AboutOut, SessionOut, User } from './types'

export const session = reactive({
  user: null as User | null,
  csrf: null as string | null,
  checked: false,
})

let unauthorizedHandler: (() => void) | null = null

export function onUnauthorized(handler: () => void) {
  unauthorizedHandler = handler
}

export const api = createApi({
  csrf: () => session.csrf,
  onUnauthorized: () => {
    if (!session.user) return
    clearSession()
    unauthorizedHandler?.()
  },
})

export function setSession(s: SessionOut) {
  session.user = s.user
  session.csrf = s.csrf_token
  session.checked = true
}

export function clearSession() {
  session.user = null
  session.csrf = null
}

/** Restore the session from the cookie (once, at start). The cookie is HttpOnly, so the app asks the public
 * /v1/about whether this browser has a session before asking for it: an anonymous GET /v1/auth/session answers
 * 401, which browsers log as a console error. */
export async function restoreSession(): Promise<void> {
  if (session.checked) return
  try {
    if (!(await api.get<AboutOut>('/v1/about')).signed_in) {
      session.checked = true
      return
    }
  } catch {
    // no answer from /v1/about: ask for the session itself below
  }
  try {
    setSession(await api.get<SessionOut>('/v1/auth/session'))
  } catch {
    clearSession()
  } finally {
    session.checked = true
  }
}

export async function logout(): Promise<void> {
  try {
    await api.post('/v1/auth/logout')
  } finally {
    clearSession()
  }
}
