/** Sign-in and registration forms. */
import { ApiError, register, signIn } from '../api';
import { navigate } from '../router';
import { errorBox, h } from './dom';

export function authView(mode: 'login' | 'register'): HTMLElement {
  const isLogin = mode === 'login';
  const message = h('div', { 'aria-live': 'assertive' });
  const field = (name: string, label: string, type: string, extra: Record<string, unknown> = {}) => {
    const input = h('input', { id: `auth-${name}`, name, type, required: name !== 'display_name', 'data-testid': `auth-${name}`, ...extra });
    const hint = h('small', { class: 'field-error', id: `auth-${name}-error` });
    input.setAttribute('aria-describedby', hint.id);
    return { input, hint, el: h('label', { for: input.id }, label, input, hint) };
  };
  const email = field('email', 'Email', 'email', { autocomplete: 'email' });
  const password = field('password', 'Password', 'password', {
    autocomplete: isLogin ? 'current-password' : 'new-password',
    minLength: isLogin ? undefined : 8,
  });
  const name = isLogin ? null : field('display_name', 'Display name (optional)', 'text', { autocomplete: 'name' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'auth-submit' }, isLogin ? 'Sign in' : 'Create account');
  const form = h(
    'form',
    {
      class: 'card auth',
      'data-testid': `${mode}-form`,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        message.replaceChildren();
        for (const f of [email, password, name]) if (f) f.hint.textContent = '';
        submit.disabled = true;
        try {
          if (isLogin) await signIn(email.input.value, password.input.value);
          else await register(email.input.value, password.input.value, name!.input.value);
          navigate(new URLSearchParams(location.search).get('next') ?? '/', true);
        } catch (error) {
          const text = error instanceof ApiError ? error.message : 'Could not reach the server.';
          message.replaceChildren(errorBox(text, 'auth-error'));
          if (error instanceof ApiError) {
            for (const [key, value] of Object.entries(error.problem.fields)) {
              const f = key === 'username' ? email : key === 'email' ? email : key === 'password' ? password : key === 'display_name' ? name : null;
              if (f) f.hint.textContent = value;
            }
          }
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h1', {}, isLogin ? 'Sign in' : 'Create an account'),
    email.el,
    name?.el,
    password.el,
    message,
    submit,
    h('p', {}, isLogin ? 'New here? ' : 'Have an account? ',
      h('a', { href: isLogin ? '/register' : '/login', 'data-link': true, 'data-testid': 'auth-switch' }, isLogin ? 'Create an account' : 'Sign in')),
  );
  return form;
}
