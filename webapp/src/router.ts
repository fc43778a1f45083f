/**
 * Routes and the guard that keeps them honest: public pages (sign-in, wipe notice, links),
 * mandatory TOTP enrolment before anything else, and pages shown only with the
 * permission they need (the server enforces the same; this only hides what would fail).
 */
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import type { Permission } from '@trupp/shared';
import { useSessionStore } from './stores/session.ts';

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean;
    permission?: Permission;
    superadmin?: boolean;
  }
}

export const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('./views/auth/LoginView.vue'),
    meta: { public: true },
  },
  {
    path: '/wiped',
    name: 'wiped',
    component: () => import('./views/auth/WipedView.vue'),
    meta: { public: true },
    // Only right after a wipe; a reload has nothing to report (and nothing signed in).
    beforeEnter: () => (useSessionStore().wiped ? true : { name: 'login' }),
  },
  {
    path: '/link/:token',
    name: 'link',
    component: () => import('./views/link/LinkView.vue'),
    meta: { public: true },
  },
  {
    path: '/enrol',
    name: 'enrol',
    component: () => import('./views/auth/EnrolView.vue'),
  },
  {
    // The station screen: full viewport, outside the shell (no navigation, no personal alerts).
    path: '/monitor',
    name: 'monitor',
    component: () => import('./views/alarms/AlarmMonitorView.vue'),
    meta: { permission: 'alarms.board' },
  },
  {
    path: '/',
    component: () => import('./components/app/AppShell.vue'),
    children: [
      { path: '', name: 'home', component: () => import('./views/home/HomeView.vue') },
      {
        path: 'ptt',
        name: 'ptt',
        component: () => import('./views/ptt/PttView.vue'),
        meta: { permission: 'ptt.use' },
      },
      {
        path: 'chat',
        name: 'chat',
        component: () => import('./views/chat/ChatListView.vue'),
        meta: { permission: 'chat.use' },
      },
      {
        path: 'chat/:conversationId',
        name: 'chat-conversation',
        component: () => import('./views/chat/ChatConversationView.vue'),
        meta: { permission: 'chat.use' },
      },
      {
        path: 'map',
        name: 'map',
        component: () => import('./views/map/MapView.vue'),
        meta: { permission: 'directory.read' },
      },
      {
        path: 'dispatch',
        name: 'dispatch',
        component: () => import('./views/alarms/DispatchView.vue'),
        meta: { permission: 'alarms.dispatch' },
      },
      {
        path: 'alarms',
        name: 'alarms',
        component: () => import('./views/alarms/AlarmsView.vue'),
        meta: { permission: 'alarms.board' },
      },
      {
        path: 'alarms/statistics',
        name: 'alarm-stats',
        component: () => import('./views/alarms/AlarmStatsView.vue'),
        meta: { permission: 'alarms.board' },
      },
      {
        path: 'alarms/:alarmId',
        name: 'alarm-board',
        component: () => import('./views/alarms/AlarmBoardView.vue'),
        meta: { permission: 'alarms.board' },
      },
      {
        path: 'security',
        name: 'security',
        component: () => import('./views/security/SecurityView.vue'),
      },
      {
        path: 'privacy',
        name: 'privacy',
        component: () => import('./views/privacy/PrivacyView.vue'),
      },
      {
        path: 'admin/units',
        name: 'units',
        component: () => import('./views/admin/AdminUnitsView.vue'),
        meta: { permission: 'units.manage' },
      },
      {
        path: 'admin/users',
        name: 'users',
        component: () => import('./views/admin/AdminUsersView.vue'),
        meta: { permission: 'users.manage' },
      },
      {
        path: 'admin/qualifications',
        name: 'qualifications',
        component: () => import('./views/admin/AdminQualificationsView.vue'),
        meta: { permission: 'qualifications.manage' },
      },
      {
        path: 'admin/integrations',
        name: 'integrations',
        component: () => import('./views/admin/AdminIntegrationsView.vue'),
        meta: { permission: 'apikeys.manage' },
      },
      {
        path: 'admin/devices',
        name: 'devices',
        component: () => import('./views/admin/AdminDevicesView.vue'),
        meta: { permission: 'devices.manage' },
      },
      {
        path: 'admin/tenant',
        name: 'tenant',
        component: () => import('./views/admin/AdminTenantView.vue'),
        meta: { permission: 'tenant.manage' },
      },
      {
        path: 'admin/tenants',
        name: 'tenants',
        component: () => import('./views/admin/AdminTenantsView.vue'),
        meta: { superadmin: true },
      },
      {
        path: 'audit',
        name: 'audit',
        component: () => import('./views/audit/AuditLogView.vue'),
        meta: { permission: 'audit.read' },
      },
      {
        path: 'connections',
        name: 'connections',
        component: () => import('./views/audit/AuditConnectionsView.vue'),
        meta: { permission: 'connections.read' },
      },
      {
        path: 'chat-metadata',
        name: 'chat-metadata',
        component: () => import('./views/audit/AuditChatMetadataView.vue'),
        meta: { permission: 'chat.metadata' },
      },
    ],
  },
  { path: '/:pathMatch(.*)*', redirect: '/' },
];

export function createAppRouter() {
  const router = createRouter({ history: createWebHistory(), routes });
  router.beforeEach((to) => {
    const session = useSessionStore();
    if (to.meta.public) {
      if (to.name === 'login' && session.signedIn) return { name: 'home' };
      return true;
    }
    if (!session.signedIn) {
      return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } };
    }
    if (session.enrolmentRequired && to.name !== 'enrol') return { name: 'enrol' };
    if (to.meta.permission && !session.can(to.meta.permission)) return { name: 'home' };
    if (to.meta.superadmin && !session.me?.isSuperadmin) return { name: 'home' };
    return true;
  });
  return router;
}
