// Sign in and register (Cognito behind the API); the API sets the HttpOnly session cookies.
import { useState } from "preact/hooks";
import { api, type Cart, words, sessionSave, ApiError } from "../api";
import { BASE, navigate } from "../router";
import { ErrorMessage, Title } from "../ui";
import { cartChanged } from "../cartCount";

async function signIn(email: string, password: string, next: string | null) {
  const tokens = await api<{ expires_in: number }>("POST", "/auth/login", { email, password });
  const expiresAt = Date.now() + tokens.expires_in * 1000;
  const cart = await api<Cart>("GET", "/cart"); // the guest cart merged into the account's
  // Signed in, counted and moved on in one step: a header that showed "Sign out" while the cart was
  // still being read would let a click elsewhere be overtaken by this navigation.
  sessionSave({ email, expiresAt });
  cartChanged(cart);
  navigate(next && next.startsWith(`${BASE}/`) ? next : `${BASE}/`, { replace: true });
}

function Field(props: { id: string; label: string; type: string; autocomplete: string; value: string; set: (v: string) => void }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input id={props.id} name={props.id} type={props.type} autoComplete={props.autocomplete} required value={props.value}
        onInput={(e) => props.set((e.target as HTMLInputElement).value)} />
    </div>
  );
}

export function SignInPage({ next }: { next: string | null }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email, password, next);
    } catch (e) {
      setError(words(e));
      setBusy(false);
    }
  }
  return (
    <>
      <Title text="Sign in" />
      <form onSubmit={submit} class="narrow">
        <Field id="email" label="Email" type="email" autocomplete="username" value={email} set={setEmail} />
        <Field id="password" label="Password" type="password" autocomplete="current-password" value={password} set={setPassword} />
        <ErrorMessage text={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p>
        New here? <a href={`${BASE}/register${next ? `?next=${encodeURIComponent(next)}` : ""}`}>Create an account</a>
      </p>
    </>
  );
}

export function RegisterPage({ next }: { next: string | null }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (confirming) await api("POST", "/auth/confirm", { email, code });
      else {
        const registration = await api<{ confirmed: boolean }>("POST", "/auth/register", { email, password });
        if (!registration.confirmed) {
          setConfirming(true);
          setBusy(false);
          return;
        }
      }
      await signIn(email, password, next);
    } catch (e) {
      setError(e instanceof ApiError && e.code === "invalid" && e.body.errors ? "Please enter a valid email address and a password." : words(e));
      setBusy(false);
    }
  }
  return (
    <>
      <Title text="Create an account" />
      <form onSubmit={submit} class="narrow">
        <Field id="email" label="Email" type="email" autocomplete="username" value={email} set={setEmail} />
        <Field id="password" label="Password" type="password" autocomplete="new-password" value={password} set={setPassword} />
        <p class="muted" id="password-hint">At least 12 characters, with upper and lower case letters, a digit and a symbol.</p>
        {confirming ? (
          <>
            <p role="status">We emailed you a code: enter it to confirm your account.</p>
            <Field id="code" label="Confirmation code" type="text" autocomplete="one-time-code" value={code} set={setCode} />
          </>
        ) : null}
        <ErrorMessage text={error} />
        <button type="submit" disabled={busy}>
          {confirming ? "Confirm" : "Register"}
        </button>
      </form>
      <p>
        Have an account? <a href={`${BASE}/sign-in${next ? `?next=${encodeURIComponent(next)}` : ""}`}>Sign in</a>
      </p>
    </>
  );
}
