import { describe, expect, it } from 'vitest'
import { safeRedirect } from './redirect'

describe('safeRedirect', () => {
  it('keeps same-site paths and refuses anything else', () => {
    expect(safeRedirect('/people/4?x=1')).toBe('/people/4?x=1')
    expect(safeRedirect('//evil.example/')).toBe('/search')
    expect(safeRedirect('/\\evil.example')).toBe('/search')
    expect(safeRedirect('https://evil.example/')).toBe('/search')
    expect(safeRedirect(undefined)).toBe('/search')
    expect(safeRedirect(['/a'])).toBe('/search')
  })
})
