// The `game` zocket router, for zocket's TypeScript client (clients/ts).
// Generated from the Rust definitions by `game::Router::typescript`: do not edit.

export type GameHeaders = { token: string, "client-version"?: string | null, retries?: number };

/**
 * Opens a lobby.
 */
export type LobbyCreate = {
  /**
   * Shown to everyone.
   */
  name: string;
  settings: Settings;
  password?: string | null;
  tags?: Array<string>;
  seed: number;
};

/**
 * A type of the application's own, used in a payload.
 */
export type Settings = { maxPlayers: number, private: boolean };

export type LobbyPing = Record<symbol, never>;

export type LobbyChatVote = { vote: Vote, channel: `#${string}` };

export type Vote = "yes" | "no";

export type LobbyOnUpdate = {
  players: Array<string>;
  host: string | null;
  winner?: string | null;
  at: string;
};

export type GameRouter = {
  headers: GameHeaders;
  incoming: {
    lobby: {
      create: { $payload: LobbyCreate };
      ping: { $payload: LobbyPing };
      chat: {
        "cast-vote": { $payload: LobbyChatVote };
      };
    };
  };
  outgoing: {
    lobby: {
      onUpdate: { $payload: LobbyOnUpdate };
    };
  };
};
