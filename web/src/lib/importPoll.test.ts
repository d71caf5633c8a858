import { describe, expect, it } from 'vitest'
import {
  applyError,
  applyJob,
  isFinished,
  newCard,
  pollImport,
  progressPercent,
  statusLine,
  statusWord,
} from './importPoll'
import type { ImportOut } from './types'

function job(over: Partial<ImportOut> = {}): ImportOut {
  return {
    id: 7, url: '/v1/imports/7', status: 'requested', format: 'linkedin', filename: 'Connections.csv', source_id: null,
    progress: 0, rows_total: 0, rows_done: 0, people_created: 0, people_merged: 0, contacts: 0, contacts_updated: 0,
    contacts_unchanged: 0, errors: 0, failure: null, requested_at: '2026-01-01T00:00:00Z', started_at: null,
    finished_at: null, ...over,
  }
}

describe('import card state', () => {
  it('starts uploading with unknown progress', () => {
    const c = newCard('k', 'a.csv')
    expect(c.phase).toBe('uploading')
    expect(progressPercent(c)).toBeNull()
    expect(statusWord(c)).toBe('uploading')
    expect(isFinished(c)).toBe(false)
  })

  it('follows the job through running to done', () => {
    let c = applyJob(newCard('k', 'a.csv'), job())
    expect(statusWord(c)).toBe('queued')
    c = applyJob(c, job({ status: 'running', progress: 0.456, rows_total: 200, rows_done: 91 }))
    expect(c.phase).toBe('running')
    expect(progressPercent(c)).toBe(45)
    expect(statusLine(c)).toBe('Read 91 of 200 records')
    c = applyJob(c, job({ status: 'done', progress: 1, rows_total: 200, rows_done: 200, errors: 2 }))
    expect(isFinished(c)).toBe(true)
    expect(progressPercent(c)).toBe(100)
    expect(statusLine(c)).toBe('Finished with 2 skipped lines')
  })

  it('ignores stale answers that would go backwards', () => {
    let c = applyJob(newCard('k', 'a'), job({ status: 'running', rows_done: 50, progress: 0.5 }))
    c = applyJob(c, job({ status: 'requested' }))
    expect(c.phase).toBe('running')
    c = applyJob(c, job({ status: 'running', rows_done: 20, progress: 0.2 }))
    expect(progressPercent(c)).toBe(50)
    c = applyJob(c, job({ status: 'done', progress: 1 }))
    c = applyJob(c, job({ status: 'running', progress: 0.9 }))
    expect(c.phase).toBe('done')
  })

  it('carries the failure message of a failed import', () => {
    const c = applyJob(newCard('k', 'a'), job({ status: 'failed', failure: 'Not a contact file.' }))
    expect(c.phase).toBe('failed')
    expect(statusLine(c)).toBe('Not a contact file.')
    expect(isFinished(c)).toBe(true)
  })

  it('records an upload error', () => {
    const c = applyError(newCard('k', 'a'), 'That file is too large.')
    expect(statusWord(c)).toBe('error')
    expect(statusLine(c)).toBe('That file is too large.')
    expect(isFinished(c)).toBe(true)
  })

  it('clamps odd progress values', () => {
    expect(progressPercent(applyJob(newCard('k', 'a'), job({ status: 'running', progress: 1.7 })))).toBe(100)
    expect(progressPercent(applyJob(newCard('k', 'a'), job({ status: 'running', progress: Number.NaN })))).toBe(0)
  })
})

describe('pollImport', () => {
  it('polls until done, reporting each state', async () => {
    const answers = [
      job({ status: 'running', progress: 0.3, rows_done: 3, rows_total: 10 }),
      job({ status: 'running', progress: 0.7, rows_done: 7, rows_total: 10 }),
      job({ status: 'done', progress: 1, rows_done: 10, rows_total: 10, people_created: 9 }),
    ]
    const sleeps: number[] = []
    const seen: string[] = []
    const final = await pollImport(
      applyJob(newCard('k', 'a'), job()),
      async (id) => {
        expect(id).toBe(7)
        return answers.shift()!
      },
      (s) => seen.push(`${s.phase}:${progressPercent(s)}`),
      { intervalMs: 500, sleep: async (ms) => void sleeps.push(ms) },
    )
    expect(seen).toEqual(['running:30', 'running:70', 'done:100'])
    expect(final.job?.people_created).toBe(9)
    expect(sleeps).toEqual([500, 500, 500])
  })

  it('does not poll without a job, and stops when cancelled', async () => {
    let calls = 0
    const fetchJob = async () => {
      calls++
      return job({ status: 'running' })
    }
    await pollImport(newCard('k', 'a'), fetchJob, () => {}, { sleep: async () => {} })
    expect(calls).toBe(0)
    let n = 0
    const final = await pollImport(applyJob(newCard('k', 'a'), job()), fetchJob, () => {}, {
      sleep: async () => {},
      cancelled: () => ++n > 3,
    })
    expect(final.phase).toBe('running')
    expect(calls).toBeGreaterThan(0)
    expect(calls).toBeLessThan(3)
  })

  it('survives a few failed requests, then gives up with a message', async () => {
    let calls = 0
    const flaky = async () => {
      calls++
      if (calls === 1) throw new Error('network')
      return job({ status: 'done', progress: 1 })
    }
    expect((await pollImport(applyJob(newCard('k', 'a'), job()), flaky, () => {}, { sleep: async () => {} })).phase).toBe('done')
    const down = async (): Promise<ImportOut> => {
      throw new Error('offline')
    }
    const final = await pollImport(applyJob(newCard('k', 'a'), job()), down, () => {}, { sleep: async () => {}, maxFailures: 3 })
    expect(final.phase).toBe('error')
    expect(final.message).toMatch(/offline/)
  })
})
