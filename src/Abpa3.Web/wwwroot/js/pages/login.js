// Sign in with the owner's (or an admin's) username and password.

import { post } from '../api.js';
import { h, field, fingerprint, showError, clearErrors } from '../ui.js';

export default {
  title: 'Sign in',
  render(view, ctx) {
    const slot = h('div', { 'aria-live': 'polite' });
    const form = h('form', { novalidate: true },
      field('username', 'Username', { autocomplete: 'username', required: true }),
      field('password', 'Password', { type: 'password', autocomplete: 'current-password', required: true }),
      slot,
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'login-submit' }, 'Sign in')));
    view.append(h('section', { class: 'card narrow', 'aria-labelledby': 'login-title' },
      h('h1', { id: 'login-title', tabindex: -1 }, 'Sign in'),
      h('p', { class: 'muted' }, `to ${ctx.info.name}`),
      form,
      h('p', { class: 'hint' }, 'Device certificate: ', fingerprint(ctx.info.cert_sha256))));

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      slot.replaceChildren();
      const username = form.elements.username.value.trim();
      const password = form.elements.password.value;
      const missing = {};
      if (!username) missing.username = ['Enter your username.'];
      if (!password) missing.password = ['Enter your password.'];
      if (Object.keys(missing).length) {
        showError(slot, { title: 'Missing details', fields: missing }, form);
        return;
      }
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      try {
        const token = await post('/api/auth/login', { username, password }, { anonymous: true });
        ctx.signedIn(token.access_token, token.expires_in);
        ctx.navigate('#/dashboard');
      } catch (error) {
        if (error.status === 401) showError(slot, { title: 'Wrong username or password', detail: 'Check both and try again.' });
        else showError(slot, error, form);
        form.elements.password.select();
      } finally {
        button.disabled = false;
      }
    });
    form.elements.username.focus();
  },
};
