-- Merchant dashboard: users of a company, their sessions, one-time sign-in links and failed sign-ins.

CREATE TABLE dashboard_users (
    id             uuid PRIMARY KEY,
    company_id     uuid NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    email          text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    -- argon2id (argon2-cffi's encoded form); NULL until the user sets one through a sign-in link
    password_hash  text,
    role           text NOT NULL CHECK (role IN ('owner', 'viewer')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (email)
);
CREATE INDEX dashboard_users_company ON dashboard_users (company_id);

-- Only a SHA-256 of the session cookie is kept. Signing out everywhere deletes every row of the user.
CREATE TABLE dashboard_sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_id);

-- One-time sign-in links printed by `coinvoice user create` (SHA-256 of the token; used once, then gone).
CREATE TABLE dashboard_signin_links (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
    expires_at   timestamptz NOT NULL
);

-- Failed sign-ins, per account (the email typed) and per client address: the throttle counts recent rows,
-- so it holds across processes. Rows older than the window are deleted as new ones are written.
CREATE TABLE dashboard_signin_failures (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL,
    ip         text NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dashboard_signin_failures_email ON dashboard_signin_failures (email, failed_at);
CREATE INDEX dashboard_signin_failures_ip ON dashboard_signin_failures (ip, failed_at);

-- A payment that counts toward no invoice can be dismissed by the merchant (handled outside the gateway, e.g.
-- refunded): it leaves the dashboard's "not credited" list and a deposit.dismissed event is written.
ALTER TABLE deposits ADD COLUMN dismissed_at timestamptz;

-- The start of the receiver's answer to each webhook attempt (the dashboard shows it beside the status code).
ALTER TABLE webhook_attempts ADD COLUMN response_excerpt text;
