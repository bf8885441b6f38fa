// Setup wizard of an unconfigured device: check it is the right device, then claim it with the setup code
// from its console and create the owner account; the owner is signed in straight away.

import { post } from '../api.js';
import { h, field, fingerprint, showError, clearErrors, message, toast } from '../ui.js';

export default {
  title: 'Set up',
  render(view, ctx) {
    const info = ctx.info;
    const steps = h('ol', { class: 'steps', 'aria-label': 'Setup steps' },
      h('li', { 'aria-current': 'step' }, 'Check the device'),
      h('li', {}, 'Claim it'),
      h('li', {}, 'Done'));
    const body = h('div');
    const card = h('section', { class: 'card narrow', 'aria-labelledby': 'setup-title' },
      h('h1', { id: 'setup-title', tabindex: -1 }, 'Set up this device'),
      h('p', { class: 'muted' }, 'Nobody owns this device yet. Whoever enters the setup code from its console becomes its owner.'),
      steps, body);
    view.append(card);

    const mark = (index) => [...steps.children].forEach((li, i) => {
      li.classList.toggle('done', i < index);
      if (i === index) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });

    const stepOne = () => {
      mark(0);
      body.replaceChildren(
        h('dl', { class: 'facts' },
          h('dt', {}, 'Name'), h('dd', {}, info.name),
          h('dt', {}, 'Device id'), h('dd', { class: 'mono' }, info.device_id),
          h('dt', {}, 'Serial'), h('dd', { class: 'mono' }, info.serial_number),
          h('dt', {}, 'Certificate'), h('dd', {}, fingerprint(info.cert_sha256))),
        h('p', { class: 'hint' }, 'The certificate fingerprint is the device\'s identity: it matches the one the device prints and shows on its own screen.'),
        h('div', { class: 'actions' }, h('button', { type: 'button', id: 'setup-continue', onclick: stepTwo }, 'This is my device — continue')));
      body.querySelector('button').focus();
    };

    const stepTwo = () => {
      mark(1);
      const slot = h('div', { 'aria-live': 'polite' });
      const form = h('form', { novalidate: true },
        field('setup_code', 'Setup code', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 16, required: true },
          'The 8 digits printed on the device\'s console when it starts (also in setup-code.txt in its data directory).'),
        field('username', 'Owner username', { autocomplete: 'username', required: true, maxlength: 64 }, 'Letters, digits, ".", "_" and "-".'),
        field('password', 'Password', { type: 'password', autocomplete: 'new-password', required: true }, 'At least 8 characters.'),
        field('confirm', 'Repeat the password', { type: 'password', autocomplete: 'new-password', required: true }),
        slot,
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'secondary', onclick: stepOne }, 'Back'),
          h('button', { type: 'submit', id: 'setup-submit' }, 'Claim device')));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearErrors(form);
        slot.replaceChildren();
        const value = (name) => form.elements[name].value;
        const code = value('setup_code').replace(/[\s-]/g, '');
        if (value('password') !== value('confirm')) {
          showError(slot, { title: 'Passwords differ', fields: { confirm: ['The two passwords are not the same.'] } }, form);
          return;
        }
        const button = form.querySelector('#setup-submit');
        button.disabled = true;
        button.textContent = 'Claiming…';
        let claimed = false;
        try {
          await post('/api/auth/setup', { username: value('username'), password: value('password'), setup_code: code }, { anonymous: true });
          claimed = true;
          const token = await post('/api/auth/login', { username: value('username'), password: value('password') }, { anonymous: true });
          ctx.signedIn(token.access_token, token.expires_in);
          mark(2);
          toast('Device claimed: you are its owner');
          await ctx.refreshInfo();
          ctx.navigate('#/dashboard');
        } catch (error) {
          if (claimed) {
            toast('Device claimed; sign in with the new account');
            ctx.navigate('#/login');
          } else if (error.status === 403) {
            showError(slot, { title: 'Wrong setup code', detail: `${error.detail} Check the code on the device's console and try again.`, fields: null }, form);
            form.elements.setup_code.setAttribute('aria-invalid', 'true');
            form.elements.setup_code.focus();
          } else if (error.status === 409) {
            slot.replaceChildren(message('warn', 'Already set up', 'Someone has claimed this device already. Sign in instead.'),
              h('a', { href: '#/login', class: 'button' }, 'Go to sign in'));
          } else {
            showError(slot, error, form);
          }
        } finally {
          button.disabled = false;
          button.textContent = 'Claim device';
        }
      });
      body.replaceChildren(form);
      form.elements.setup_code.focus();
    };

    stepOne();
  },
};
