/**
 * Word lists and text shapes: subjects (several languages, some hostile), their RFC 2047 encodings,
 * SpamAssassin rule names, virus names.
 */

import type { Rng } from './random.js';

export const FIRST_NAMES: readonly string[] = (
  'maria jose ana juan laura carlos lucia david marta pablo elena javier sofia daniel carmen miguel ' +
  'paula alejandro sara jorge irene sergio nuria jordi montse xavier john emma oliver mia lukas ' +
  'hannah jean camille luca giulia joao beatriz wei yuki fatima omar ingrid piotr eleni aisha'
).split(' ');

export const LAST_NAMES: readonly string[] = (
  'garcia martinez lopez sanchez perez gomez martin jimenez ruiz hernandez diaz moreno alvarez ' +
  'romero navarro torres dominguez vazquez ramos gil serrano blanco molina castro ortiz rubio puig ' +
  'vidal ferrer smith johnson brown muller schmidt weber dubois moreau rossi ferrari silva santos ' +
  'chen tanaka kowalski papadopoulos nielsen'
).split(' ');

export interface Subject {
  /** Decoded text, as a mail reader shows it. */
  decoded: string;
  /** The header value as it travels (raw UTF-8, or RFC 2047 encoded words). */
  raw: string;
}

const HAM_SUBJECTS = [
  'Reunión del departamento el próximo martes',
  'Convocatoria de becas de investigación 2027',
  'Re: Revisión del artículo para la revista',
  'Acta de la comisión académica',
  'Horario de tutorías del segundo cuatrimestre',
  'Solicitud de matrícula: documentación pendiente',
  'Fwd: Presupuesto del proyecto europeo',
  '¿Quedamos para comer el jueves?',
  'Calificaciones del examen final',
  'Cambio de aula: Física II',
  'Invitación: seminario de investigación',
  'Recordatorio: entrega del TFG',
  'Información sobre la defensa de tesis',
  'Convocatòria de la junta de facultat',
  'Recordatori: lliurament de notes',
  'Meeting notes',
  'Re: Paper review',
  'Re: Re: dataset access',
  'Conference registration confirmation',
  'Your order has shipped',
  'Weekly newsletter',
  'Lunch tomorrow?',
  'Call for papers: workshop on distributed systems',
  'Einladung zum Kolloquium',
  'Änderung der Prüfungsordnung',
  'Re: Rückfrage zum Antrag',
  "Réunion de l'équipe pédagogique",
  'Re: Demande de stage',
  'Félicitations pour votre soutenance !',
  'Convite: defesa de tese de doutoramento',
  'Atualização do cronograma',
  '会議の議事録',
  '课程安排通知',
  'Приглашение на конференцию',
  'Πρόσκληση σε σεμινάριο',
] as const;

const SPAM_SUBJECTS = [
  '¡Enhorabuena! Has ganado un iPhone 17',
  'Ganancias rápidas desde casa',
  'Su buzón ha superado el límite de almacenamiento',
  'Your account will be suspended',
  'URGENT: verify your mailbox quota',
  'Cheap meds online, no prescription',
  'Invest in crypto today: 300% returns',
  'Re: Invoice overdue',
  'Ihr Paket konnte nicht zugestellt werden',
  'Votre colis est en attente de livraison',
  'Business proposal',
  'Dear friend',
  'Оптовые поставки со склада',
  'Last chance: 90% off sunglasses',
  '免费领取奖品',
] as const;

/** Attacker-controlled text a viewer must escape. */
const HOSTILE_SUBJECTS = [
  '<script>alert(1)</script>',
  'Re: <img src=x onerror=alert(document.cookie)>',
  "'; DROP TABLE messages; --",
  'Factura %s%s%n %x',
  'Pedido \u202Efdp.exe',
] as const;

export const HOSTILE_HELO = '<script>alert(1)</script>';

export function pickHamSubject(rng: Rng): string {
  return rng.pick(HAM_SUBJECTS);
}

export function pickSpamSubject(rng: Rng): string {
  return rng.chance(0.06) ? rng.pick(HOSTILE_SUBJECTS) : rng.pick(SPAM_SUBJECTS);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e) return false;
  return true;
}

/** Every byte of `s` in Latin-1, or null when a character is outside it. */
function latin1Bytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return null;
    out[i] = c;
  }
  return out;
}

function qEncode(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    if (b === 0x20) out += '_';
    else if (
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b === 0x21 ||
      b === 0x2a ||
      b === 0x2b ||
      b === 0x2d ||
      b === 0x2f
    ) {
      out += String.fromCharCode(b);
    } else {
      out += `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/**
 * The Subject header as a mail client would send it: ASCII as is; non-ASCII as B or Q encoded words
 * in UTF-8 or ISO-8859-1, sometimes only the non-ASCII part encoded, sometimes raw UTF-8 (SMTPUTF8
 * clients). Encoded forms longer than Postfix logs in full (200 characters with `Subject: `) fall back
 * to raw text, so the logged subject always decodes to the whole subject.
 */
export function encodeSubject(rng: Rng, decoded: string): Subject {
  if (isAscii(decoded)) return { decoded, raw: decoded };
  const utf8 = new TextEncoder().encode(decoded);
  const style = rng.weighted([
    ['raw', 3],
    ['b', 3],
    ['q', 3],
    ['latin1', 2],
    ['partial', 1],
  ] as const);
  let raw = decoded;
  if (style === 'b') {
    raw = `=?${rng.chance(0.5) ? 'UTF-8' : 'utf-8'}?B?${Buffer.from(utf8).toString('base64')}?=`;
  } else if (style === 'q') {
    raw = `=?UTF-8?Q?${qEncode(utf8)}?=`;
  } else if (style === 'latin1') {
    const bytes = latin1Bytes(decoded);
    raw = bytes
      ? `=?ISO-8859-1?Q?${qEncode(bytes)}?=`
      : `=?utf-8?B?${Buffer.from(utf8).toString('base64')}?=`;
  } else if (style === 'partial') {
    // Only the words with non-ASCII characters become encoded words (as Thunderbird does).
    raw = decoded
      .split(' ')
      .map((word) => (isAscii(word) ? word : `=?UTF-8?Q?${qEncode(new TextEncoder().encode(word))}?=`))
      .join(' ');
    // Adjacent encoded words would swallow the space between them when decoded: keep it raw then.
    if (/\?= =\?/.test(raw)) raw = decoded;
  }
  if (raw.length > 180) raw = decoded;
  return { decoded, raw };
}

const HAM_RULES: readonly string[] = (
  'BAYES_00 DKIM_SIGNED DKIM_VALID DKIM_VALID_AU DKIM_VALID_EF HTML_MESSAGE MAILING_LIST_MULTI ' +
  'RCVD_IN_DNSWL_NONE RCVD_IN_MSPIKE_H2 SPF_HELO_NONE SPF_PASS FREEMAIL_FROM DMARC_PASS ' +
  'T_SCC_BODY_TEXT_LINE RCVD_IN_DNSWL_LOW'
).split(' ');

const SPAM_RULES: readonly string[] = (
  'BAYES_99 BAYES_999 HTML_IMAGE_ONLY_16 HTML_MESSAGE MIME_HTML_ONLY RCVD_IN_SBL_CSS RCVD_IN_XBL ' +
  'URIBL_ABUSE_SURBL URIBL_BLACK URIBL_DBL_SPAM FROM_SUSPICIOUS_NTLD PDS_FROM_2_EMAILS RDNS_NONE ' +
  'SPF_FAIL FREEMAIL_FORGED_REPLYTO LOTS_OF_MONEY MONEY_FREEMAIL_REPTO SUBJ_ALL_CAPS ' +
  'KAM_DMARC_STATUS'
).split(' ');

/** SpamAssassin's sorted, comma-separated list of rules hit. */
export function pickRules(rng: Rng, spam: boolean): string {
  const pool = spam ? SPAM_RULES : HAM_RULES;
  const chosen = new Set<string>();
  const n = rng.int(3, 9);
  for (let i = 0; i < n; i++) chosen.add(rng.pick(pool));
  return [...chosen].sort().join(',');
}

/** Virus names as ClamAV reports them (`Eicar-Signature` and the current EICAR test signature included). */
export const VIRUSES = [
  'Eicar-Signature',
  'Win.Test.EICAR_HDB-1',
  'Doc.Malware.Valyria-6714124-0',
  'Html.Phishing.Bank-1785',
  'Porcupine.Phishing.55542.UNOFFICIAL',
] as const;

/** Spam sender domains: throwaway names in cheap TLDs. */
export function spamDomain(rng: Rng): string {
  const words = [
    'promo',
    'deal',
    'offer',
    'winner',
    'bonus',
    'secure',
    'verify',
    'mail',
    'news',
    'shop',
    'lucky',
  ];
  const tlds = ['shop', 'xyz', 'top', 'click', 'biz', 'info', 'ru', 'cn', 'work', 'live'];
  return `${rng.pick(words)}${rng.pick(words)}${rng.int(1, 999)}.${rng.pick(tlds)}`;
}
