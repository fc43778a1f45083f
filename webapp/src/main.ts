import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { i18n } from './i18n/index.ts';
import { createAppRouter } from './router.ts';
import { useSessionStore } from './stores/session.ts';
import { registerServiceWorker } from './push/web-push.ts';
import './styles.css';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
app.use(i18n);
// The session must be restored before the router's first guard decides where to go.
useSessionStore(pinia).init();
app.use(createAppRouter());
document.documentElement.lang = i18n.global.locale.value;
app.mount('#app');
void registerServiceWorker();
