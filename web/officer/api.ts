/**
 * The console's calls to the staff API (same origin). The session is an HttpOnly cookie the page never sees; the
 * CSRF token from the sign-in answer (or GET /staff/session) goes with every change in `x-csrf-token`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface Member {
  id: string;
  roles: string[];
  agencies?: number[];
}

export interface Session {
  member: Member;
  via: "passkey" | "bearer";
  csrfToken?: string;
  expiresAt?: string;
}

let csrfToken: string | undefined;

export function useSession(session: Session | undefined): void {
  csrfToken = session?.csrfToken;
}

export async function api<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken !== undefined) headers["x-csrf-token"] = csrfToken;
  const response = await fetch(path, { method, headers, credentials: "same-origin", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    throw new ApiError(response.status, "invalid_response", `The service answered ${response.status} without JSON.`);
  }
  if (!response.ok) {
    const error = json as { error?: string; error_description?: string } | undefined;
    throw new ApiError(response.status, error?.error ?? "error", error?.error_description ?? `HTTP ${response.status}`);
  }
  return json as T;
}
