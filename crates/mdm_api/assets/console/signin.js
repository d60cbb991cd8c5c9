// Sign in: the steward pastes a token; GET /v1/whoami checks it and tells the role.

import { api, setToken } from './api.js';
import { h, mount, main } from './dom.js';

export function render(onSignedIn) {
  const root = main();
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, size: 48 });
  const msg = h('p.error', { role: 'alert' });
  const form = h('form.card.login', {
    'aria-labelledby': 'signin-title',
    onsubmit: async (e) => {
      e.preventDefault();
      msg.textContent = '';
      const tok = input.value.trim();
      if (!tok) return;
      try {
        const who = await api('GET', '/v1/whoami', undefined, tok);
        if (who.role !== 'steward' && who.role !== 'admin') {
          msg.textContent = `This token's role is "${who.role}"; the console needs a steward or admin token.`;
          return;
        }
        setToken(tok);
        onSignedIn(who);
      } catch (err) {
        msg.textContent = err.status === 401 ? 'This token is not valid (unknown, expired or revoked).' : err.message;
      }
    },
  },
  h('h1', { id: 'signin-title' }, 'mdm steward console'),
  h('p.muted', 'Paste a steward token (', h('code', 'mdm token create --role steward --label NAME'), '). It is kept for this browser tab only.'),
  h('label', { for: 'token' }, 'Steward token'),
  h('div.toolbar', input, h('button.primary', { type: 'submit' }, 'Sign in')),
  msg);
  mount(root, form);
  input.focus();
}
