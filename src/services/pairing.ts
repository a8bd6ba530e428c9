// Pairing a device: the text its QR code holds (server URL + token) and the code itself. The
// encoding is the `qrcode` package's; this module only decides what goes in and hands out the
// modules (for the host page to draw without parsing markup) and an SVG (for everyone else).
import QRCode from "qrcode";

export const PAIRING_PREFIX = "openwork://connect";
export const PAIRING_VERSION = "1";

/**
 * `openwork://connect?v=1&url=<server URL>&token=<token>[&workspace=<id>]`, URL-encoded. A URL so a
 * phone camera can hand it to the app; `v` lets the format change without breaking old readers.
 */
export function pairingPayload(input: { url: string; token: string; workspace?: string }): string {
  const params = new URLSearchParams({ v: PAIRING_VERSION, url: input.url, token: input.token });
  if (input.workspace) params.set("workspace", input.workspace);
  return `${PAIRING_PREFIX}?${params}`;
}

/** What a reader gets back from a payload (the inverse of pairingPayload); null when it is not one. */
export function parsePairingPayload(text: string): { url: string; token: string; workspace?: string } | null {
  if (!text.startsWith(`${PAIRING_PREFIX}?`)) return null;
  const params = new URLSearchParams(text.slice(PAIRING_PREFIX.length + 1));
  const url = params.get("url");
  const token = params.get("token");
  if (params.get("v") !== PAIRING_VERSION || !url || !token) return null;
  const workspace = params.get("workspace");
  return workspace ? { url, token, workspace } : { url, token };
}

export interface PairingCode {
  payload: string;
  size: number;
  rows: string[];
  svg: string;
}

/** The QR code of `payload` (error correction M: a phone reads it off a screen at an angle). */
export async function pairingCode(payload: string): Promise<PairingCode> {
  const options = { errorCorrectionLevel: "M" as const };
  const { modules } = QRCode.create(payload, options);
  const rows: string[] = [];
  for (let y = 0; y < modules.size; y++) {
    let row = "";
    for (let x = 0; x < modules.size; x++) row += modules.get(y, x) ? "1" : "0";
    rows.push(row);
  }
  const svg = await QRCode.toString(payload, { ...options, type: "svg", margin: 4 });
  return { payload, size: modules.size, rows, svg };
}
