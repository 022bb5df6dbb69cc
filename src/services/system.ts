// The system the server runs (spec §0): config and log dataspaces, the logger, the dependency
// tracker and the built-in service listeners, all in one top-level actor.
import path from 'node:path';
import { Embedded, Dictionary, Record, sym } from '../preserves/index.ts';
import { Actor, Dataspace, type Assertion, type Ref, type Turn } from '../bus/index.ts';
import { configWatcherService } from './listeners/config-watcher-service.ts';
import { trackDependencies } from './supervision/dependency-tracker.ts';
import { startLogger } from './logger.ts';
import { startStateClock } from './supervision/state-clock.ts';
import { startControlStore } from './control-store.ts';
import { createGatekeeper } from '../relay/gatekeeper.ts';
import { gatekeeperService } from './listeners/gatekeeper-service.ts';
import { listenerFlagsToAssertions, relayListenerService, unixListenerName, type ListenerLimits, type TcpFlag } from './listeners/relay-listener-service.ts';
import { reportStates } from './state-report.ts';
import { startConfigWatcher } from '../config-lang/config-watcher.ts';
import { envFromDictionary } from '../config-lang/environment.ts';
import { Service } from './supervision/service-protocol.ts';
import { serviceListener, type ServiceKind } from './supervision/service-listener.ts';

/** The handles of a running system. */
export interface System {
  readonly actor: Actor;
  readonly config: Ref;
  readonly log: Ref;
  /** The config dataspace entity itself (for inspection). */
  readonly configSpace: Dataspace;
  /** The system gatekeeper (bind-space: the config dataspace); set in the boot turn. */
  gatekeeper: Ref | null;
}

/** What to start. */
export interface SystemOptions {
  /** Config paths to watch (`-c`), each as `<run-service <config-watcher PATH ENV>>`. */
  readonly configPaths?: readonly string[];
  /** Where log lines go (default stderr). */
  readonly writeLog?: (line: string) => void;
  /** More service kinds (daemons, listeners) given the config and log refs. */
  readonly services?: (config: Ref, log: Ref) => ServiceKind[];
  /** A root prefix under which absolute paths of the configuration resolve (`--root`). */
  readonly rootDir?: string;
  /** Where operator assertions (syndicate-ctl start/stop/assert) are kept and watched from. */
  readonly controlDir?: string;
  /** Unix relay listeners (`-s PATH`) and TCP ports (`-p [HOST:]PORT`, 127.0.0.1 by default) exporting the gatekeeper. */
  readonly sockets?: readonly string[];
  readonly ports?: readonly (number | TcpFlag)[];
  /** `--allow CIDR`: the allow-list of every `-p` listener (empty: no list). */
  readonly allow?: readonly string[];
  /** Limits of relay connections and listeners (defaults: `defaultListenerLimits()`). */
  readonly relayLimits?: Partial<ListenerLimits>;
  /** The control socket: a Unix listener exporting the config dataspace itself as OID 0. */
  readonly controlSocket?: string;
  /** Print each service state as it changes (the console of `npm start`). */
  readonly reportStates?: (line: string) => void;
  /** Called in the boot turn, with everything in place. */
  readonly onBoot?: (t: Turn, system: System) => void;
}

/** The environment scripts get: `{config: #:…, log: #:…, gatekeeper: #:…}`. */
export function scriptEnvironment(config: Ref, log: Ref, gatekeeper: Ref | null = null): Dictionary<Ref> {
  const env = new Dictionary<Ref>();
  env.set(sym('config'), new Embedded<Ref>(config));
  env.set(sym('log'), new Embedded<Ref>(log));
  if (gatekeeper !== null) env.set(sym('gatekeeper'), new Embedded<Ref>(gatekeeper));
  return env;
}

/** An absolute path moved under `rootDir` (when given); relative paths are left alone. */
export function underRoot(rootDir: string | undefined, p: string): string {
  return rootDir === undefined || !path.isAbsolute(p) ? p : path.join(rootDir, p);
}

/** The record naming a config watcher service. */
export function configWatcherName(path: string, env: Dictionary<Ref>): Assertion {
  return new Record<Ref>(sym('config-watcher'), [path, env]);
}

/** Boots the system actor; its refs are usable at once, its services start in its first turn. */
export function startSystem(options: SystemOptions = {}): System {
  const configSpace = new Dataspace('config');
  const actor = new Actor('syndicate-server');
  const config: Ref = { relay: actor.root, target: configSpace };
  const log: Ref = { relay: actor.root, target: new Dataspace('log') };
  const system: System = { actor, config, log, configSpace, gatekeeper: null };
  actor.root.turn((t) => {
    const gatekeeper = (system.gatekeeper = createGatekeeper(t, config));
    const env = () => scriptEnvironment(config, log, gatekeeper);
    startLogger(t, log, options.writeLog);
    if (options.reportStates !== undefined) reportStates(t, config, options.reportStates);
    trackDependencies(t, config);
    startStateClock(t, config);
    const builtIn = [configWatcherService(config, (p) => underRoot(options.rootDir, p)), relayListenerService(config, options.relayLimits), gatekeeperService(config)];
    for (const kind of [...builtIn, ...(options.services?.(config, log) ?? [])]) {
      serviceListener(t, config, kind);
    }
    if (options.controlDir !== undefined) {
      // Watched directly, not as a service: it is the bus's own state, never under --root.
      const dir = options.controlDir;
      startControlStore(t, config, dir);
      t.facet((t) => startConfigWatcher(t, dir, envFromDictionary(env())));
    }
    for (const p of options.configPaths ?? []) {
      t.assert(config, Service.run(configWatcherName(p, env())));
    }
    for (const a of listenerFlagsToAssertions({ ports: options.ports, sockets: options.sockets, allow: options.allow }, gatekeeper)) t.assert(config, a);
    if (options.controlSocket !== undefined) {
      // The control socket exports the config dataspace itself as OID 0 (as `--inferior` does
      // in the reference): only who can open the socket (mode 0600) gets it. A sturdy ref bound
      // in the config space would instead be reachable through every -s and -p listener.
      t.assert(config, Service.run(unixListenerName(options.controlSocket, config)));
    }
    options.onBoot?.(t, system);
  });
  return system;
}
