import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router'
import { safeRedirect } from './lib/redirect'
import { onUnauthorized, restoreSession, session } from './lib/session'
import SearchView from './views/SearchView.vue'
import LoginView from './views/LoginView.vue'

declare module 'vue-router' {
  interface RouteMeta {
    title?: string
    public?: boolean
  }
}

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', redirect: '/search' },
    { path: '/login', component: LoginView, meta: { title: 'Log in', public: true } },
    { path: '/signup', component: () => import('./views/SignupView.vue'), meta: { title: 'Sign up', public: true } },
    { path: '/search', component: SearchView, meta: { title: 'Search' } },
    { path: '/import', component: () => import('./views/ImportView.vue'), meta: { title: 'Import contacts' } },
    { path: '/people/:id(\\d+)', component: () => import('./views/PersonView.vue'), meta: { title: 'Person' } },
    { path: '/explore', component: () => import('./views/ExploreView.vue'), meta: { title: 'Explore your network' } },
    { path: '/reach', component: () => import('./views/ReachView.vue'), meta: { title: 'Reach a company' } },
    { path: '/settings', component: () => import('./views/SettingsView.vue'), meta: { title: 'Settings' } },
    {
      path: '/:rest(.*)*',
      component: () => import('./views/NotFoundView.vue'),
      meta: { title: 'Not found', public: true },
    },
  ],
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})


router.beforeEach(async (to: RouteLocationNormalized) => {
  await restoreSession()
  if (!to.meta.public && !session.user) {
    return { path: '/login', query: to.fullPath !== '/search' ? { next: to.fullPath } : {} }
  }
  if ((to.path === '/login' || to.path === '/signup') && session.user) {
    return safeRedirect(to.query.next)
  }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · sixdeg` : 'sixdeg'
})

// A 401 mid-session (expired cookie): back to the log-in page, then return here.
onUnauthorized(() => {
  const here = router.currentRoute.value
  if (!here.meta.public) router.replace({ path: '/login', query: { next: here.fullPath, expired: '1' } })
})
