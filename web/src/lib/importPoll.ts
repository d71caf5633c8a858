// One import card's life: uploading → queued → running → done | failed (or an upload error), and the loop
// that polls GET /v1/imports/{id} until the import has finished.
import type { ImportOut } from './types'

export type Phase = 'uploading' | 'requested' | 'running' | 'done' | 'failed' | 'error'

export interface ImportCardState {
  key: string
  filename: string
  phase: Phase
  job: ImportOut | null
  /** An error of our own (upload refused, network down), shown instead of a summary. */
  message: string | null
}

export function newCard(key: string, filename: string): ImportCardState {
  return { key, filename, phase: 'uploading', job: null, message: null }
}

/** The state after the server told us about the job. Never goes backwards (a late, stale answer is ignored). */
export function applyJob(state: ImportCardState, job: ImportOut): ImportCardState {
  if (isFinished(state) && state.job && job.status !== state.job.status) return state
  if (state.job && rank(job.status) < rank(state.job.status)) return state
  if (state.job && job.status === state.job.status && job.rows_done < state.job.rows_done) return state
  return { ...state, job, phase: job.status, message: job.status === 'failed' ? job.failure : null }
}

export function applyError(state: ImportCardState, message: string): ImportCardState {
  return { ...state, phase: 'error', message }
}

function rank(status: ImportOut['status']): number {
  return { requested: 0, running: 1, done: 2, failed: 2 }[status]
}

export function isFinished(state: ImportCardState): boolean {
  return state.phase === 'done' || state.phase === 'failed' || state.phase === 'error'
}

/** Progress in percent (0-100, whole numbers); null while unknown (uploading). */
export function progressPercent(state: ImportCardState): number | null {
  if (state.phase === 'done') return 100
  if (!state.job) return null
  const p = Number.isFinite(state.job.progress) ? state.job.progress : 0
  return Math.max(0, Math.min(100, Math.floor(p * 100)))
}

export function statusWord(state: ImportCardState): string {
  return { uploading: 'uploading', requested: 'queued', running: 'running', done: 'done', failed: 'failed', error: 'error' }[
    state.phase
  ]
}

/** A plain-words line under the progress bar. */
export function statusLine(state: ImportCardState): string {
  const job = state.job
  switch (state.phase) {
    case 'uploading':
      return 'Uploading…'
    case 'requested':
      return 'Waiting to start…'
    case 'running':
      return job && job.rows_total > 0
        ? `Read ${job.rows_done.toLocaleString('en')} of ${job.rows_total.toLocaleString('en')} records`
        : 'Reading the file…'
    case 'done':
      return job?.errors ? `Finished with ${job.errors} skipped ${job.errors === 1 ? 'line' : 'lines'}` : 'Finished'
    case 'failed':
      return state.message || 'The import failed.'
    case 'error':
      return state.message || 'The upload failed.'
  }
}

export interface PollOptions {
  intervalMs?: number
  sleep?: (ms: number) => Promise<void>
  /** Stop early (the page was left). */
  cancelled?: () => boolean
  /** Give up after this many consecutive failed requests. */
  maxFailures?: number
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Poll until the job is done or failed; `onUpdate` gets every new state. Resolves with the final state. */
export async function pollImport(
  initial: ImportCardState,
  fetchJob: (id: number) => Promise<ImportOut>,
  onUpdate: (state: ImportCardState) => void,
  options: PollOptions = {},
): Promise<ImportCardState> {
  const { intervalMs = 500, sleep = realSleep, cancelled = () => false, maxFailures = 5 } = options
  let state = initial
  let failures = 0
  while (!isFinished(state) && state.job && !cancelled()) {
    await sleep(intervalMs)
    if (cancelled()) break
    try {
      state = applyJob(state, await fetchJob(state.job.id))
      failures = 0
    } catch (err) {
      failures += 1
      if (failures >= maxFailures) {
        state = applyError(state, `Lost track of this import (${(err as Error).message}). Reload the page to see its status.`)
      }
    }
    onUpdate(state)
  }
  return state
}
