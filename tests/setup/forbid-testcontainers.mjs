// Module hook for tests/setup/lazy-imports.test.ts: resolving `testcontainers` fails, so a module
// that imports it eagerly cannot load.
export async function resolve(specifier, context, next) {
  if (specifier === 'testcontainers' || specifier.startsWith('testcontainers/'))
    throw new Error('testcontainers was imported while loading the test setup')
  return next(specifier, context)
}
