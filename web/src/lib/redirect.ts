/** Where to go after logging in: only same-site paths (never "//evil.example" or a full URL). */
export function safeRedirect(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\')
    ? value
    : '/search'
}
