/**
 * SpamAssassin's spamd, as its clients (spamass-milter on mx1, qmail-scanner's spamc on mx2) make it
 * log: the parent spawning children, and per message the connection, `processing message`, the
 * verdict and the `result:` line with `mid=<...>` (spamd 3.4 formats, as in the corpus' spamd lines).
 */

import type { Mail } from './engine.js';
import { longLived, type PidSource, type Proc, ProcessPool } from './ids.js';
import type { Rng } from './random.js';
import { US, us } from './time.js';

/** spamd's `required_score`: at or above, the message is spam. */
export const SPAM_SCORE = 5;

type Emit = (t: number, tag: string, text: string) => void;

/** The spamd user a client scans as (`spamass-milter:118`, `qscand:1004`). */
export interface SpamdUser {
  name: string;
  uid: number;
}

export class Spamd {
  private readonly parent: Proc;
  private readonly children: ProcessPool;

  constructor(
    pids: PidSource,
    private readonly rng: Rng,
    private readonly emit: Emit,
    startUs: number,
  ) {
    this.parent = longLived('spamd', pids);
    this.children = new ProcessPool(
      'spamd',
      pids,
      rng,
      { maxIdle: Number.POSITIVE_INFINITY, maxUse: 200 },
      (base, t, logged) => {
        if (logged)
          emit(t, this.parent.tag, `spamd: server successfully spawned child process, pid ${base.pid}`);
        return base;
      },
    );
    this.children.prefill(5, startUs);
  }

  /** One message scanned for `user`: returns when the client has the answer. */
  check(t: number, mail: Mail, user: SpamdUser): number {
    const rng = this.rng;
    const emit = this.emit;
    const child = this.children.acquire(t, t + 30 * US);
    const port = rng.int(32768, 60999);
    const who = `${user.name}:${user.uid}`;
    emit(
      t + us(0.0005),
      child.tag,
      `spamd: connection from localhost [127.0.0.1]:${port} to port 783, fd ${rng.pick([5, 6])}`,
    );
    emit(t + us(0.002), child.tag, `spamd: processing message <${mail.messageId}> for ${who}`);
    const scan = Math.min(25, Math.max(0.1, rng.logNormal(1.1, 0.55)));
    const done = t + us(scan);
    const spam = mail.score >= SPAM_SCORE;
    const score = mail.score.toFixed(1);
    const seconds = scan.toFixed(1);
    emit(
      done,
      child.tag,
      `spamd: ${spam ? 'identified spam' : 'clean message'} (${score}/5.0) for ${who} in ${seconds} seconds, ${mail.size} bytes.`,
    );
    const whole = String(Math.trunc(mail.score) || 0).padStart(2, ' ');
    const bayes = (spam ? rng.real(0.9, 1) : rng.real(0, 0.1)).toFixed(6);
    const autolearn = mail.score < 0.1 ? 'ham' : mail.score >= 12 ? 'spam' : 'no';
    emit(
      done + us(0.0003),
      child.tag,
      `spamd: result: ${spam ? 'Y' : '.'} ${whole} - ${mail.rules} scantime=${seconds},size=${mail.size},user=${user.name},uid=${user.uid},required_score=5.0,rhost=localhost,raddr=127.0.0.1,rport=${port},mid=<${mail.messageId}>,bayes=${bayes},autolearn=${autolearn} autolearn_force=no`,
    );
    if (rng.chance(0.1))
      emit(done + us(0.002), this.parent.tag, `prefork: child states: ${rng.pick(['II', 'III', 'IIII'])}`);
    child.busyUntil = done + us(0.001);
    return done + us(rng.real(0.002, 0.012));
  }
}
