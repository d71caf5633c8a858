import { describe, expect, it } from 'vitest'
import { evidenceLines, joinWords, pathSummary, readableDate, strengthPercent, strengthWord } from './evidence'

describe('evidenceLines', () => {
  it('explains your own edge in sentences', () => {
    const lines = evidenceLines(
      { owner: 'you', since: '2019-03-04', evidence: { sources: [3, 5], mutual: true, same_company: true } },
      { sourceNames: new Map([[3, 'LinkedIn'], [5, 'Google']]) },
    )
    expect(lines).toEqual([
      'In your contacts from LinkedIn and Google',
      'Both have each other as contacts',
      'Work at the same company',
      'Connected since 4 Mar 2019',
      'From your own contacts',
    ])
  })

  it('counts sources when their names are unknown, and handles privacy-filtered evidence', () => {
    expect(evidenceLines({ owner: 'you', since: null, evidence: { sources: [9] } })[0]).toBe('In one of your contact sources')
    const shared = evidenceLines({ owner: 'shared', since: null, evidence: { sources: 2, mutual: false } })
    expect(shared).toEqual(['Listed in 2 contact sources', "From another sixdeg user's shared network"])
  })

  it('shows unknown fields readably instead of hiding them', () => {
    const lines = evidenceLines({
      owner: 'public',
      since: null,
      evidence: { dataset: 'snap-ego-facebook', lastSeen: '2024-12-01T10:00:00Z', weights: { calls: 3 }, empty: null },
    })
    expect(lines).toContain('Dataset: snap-ego-facebook')
    expect(lines).toContain('Last seen: 1 Dec 2024')
    expect(lines).toContain('Weights: Calls: 3')
    expect(lines.some((l) => l.startsWith('Empty'))).toBe(false)
    expect(lines[lines.length - 1]).toBe('From a public dataset')
  })

  it('uses connected_on from the evidence when the step has no since', () => {
    expect(evidenceLines({ owner: 'you', since: null, evidence: { connected_on: '2020-01-31' } })).toContain(
      'Connected since 31 Jan 2020',
    )
  })
})

describe('path helpers', () => {
  it('converts strengths', () => {
    expect(strengthPercent(0.456)).toBe(46)
    expect(strengthPercent(1.4)).toBe(100)
    expect(strengthPercent(null)).toBe(0)
    expect(strengthWord(0.8)).toBe('strong')
    expect(strengthWord(0.5)).toBe('medium')
    expect(strengthWord(0.1)).toBe('weak')
  })

  it('formats dates and word lists', () => {
    expect(readableDate('2021-12-25')).toBe('25 Dec 2021')
    expect(readableDate('yesterday')).toBe('yesterday')
    expect(joinWords(['a'])).toBe('a')
    expect(joinWords(['a', 'b', 'c'])).toBe('a, b and c')
  })

  it('summarises a path starting from you', () => {
    const people = [
      { id: 1, name: 'Me Myself', company: null, title: null },
      { id: 2, name: 'Ada', company: null, title: null },
      { id: 3, name: null, company: null, title: null },
    ]
    expect(pathSummary(people, 1)).toBe('You → Ada → Person 3')
    expect(pathSummary(people, 99)).toBe('Me Myself → Ada → Person 3')
  })
})
