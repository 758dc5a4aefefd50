import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';

const INSTALL_LAB = 'pip install "colabmagic[lab]"';

/** What to do when the server extension is missing, in the user's language. */
export function serverExtensionMissing(trans: TranslationBundle): string {
  return trans.__('colabmagic server extension not found: %1, then restart Jupyter', INSTALL_LAB);
}

/**
 * The server extension answered 404 for its own API: it is not installed or not enabled. Its
 * message is English (the console's); the items show serverExtensionMissing(trans) instead.
 */
export class ServerExtensionMissing extends Error {
  constructor() {
    super(`colabmagic server extension not found: ${INSTALL_LAB}, then restart Jupyter`);
  }
}

/**
 * The one way the toolbar talks to colabmagic's server extension (/colabmagic/api/<endPoint>).
 * Errors carry the server's message (a 400 says what was wrong with the request).
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'colabmagic', 'api', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: an HTML error page, kept as text for the message
    }
  }
  if (response.status === 404 && !(data && data.message)) {
    throw new ServerExtensionMissing();
  }
  if (!response.ok) {
    const message = data && data.message ? data.message : `HTTP ${response.status}`;
    throw new ServerConnection.ResponseError(response, message);
  }
  return data as T;
}

/** POST a JSON body. */
export function postAPI<T>(endPoint: string, body: unknown): Promise<T> {
  return requestAPI<T>(endPoint, { method: 'POST', body: JSON.stringify(body) });
}
