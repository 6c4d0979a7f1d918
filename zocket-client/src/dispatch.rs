//! Listeners: typed message listeners by wire type, plus open, close and
//! error listeners, each removable through its [`Subscription`].

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

type Callback = Arc<dyn Fn(&(dyn Any + Send + Sync)) + Send + Sync>;

/// What a listener listens to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Key {
    Message(&'static str),
    /// The answerer of the server's requests of this type.
    Answer(&'static str),
    Open,
    Close,
    Error,
    Resumed,
}

#[derive(Default)]
pub(crate) struct Listeners {
    by_key: Mutex<HashMap<Key, Vec<(u64, Callback)>>>,
    next_id: AtomicU64,
}

impl Listeners {
    pub fn add(self: &Arc<Self>, key: Key, callback: Callback) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.by_key
            .lock()
            .entry(key)
            .or_default()
            .push((id, callback));
        Subscription {
            listeners: Arc::downgrade(self),
            key,
            id,
        }
    }

    /// Calls every listener of `key`. The lock is not held during the calls,
    /// so a listener may subscribe or unsubscribe.
    pub fn emit(&self, key: Key, value: &(dyn Any + Send + Sync)) {
        let callbacks: Vec<Callback> = match self.by_key.lock().get(&key) {
            Some(list) => list.iter().map(|(_, cb)| cb.clone()).collect(),
            None => return,
        };
        for cb in callbacks {
            cb(value);
        }
    }

    /// Calls the first listener of `key` only; false if there is none.
    pub fn emit_first(&self, key: Key, value: &(dyn Any + Send + Sync)) -> bool {
        let first = match self.by_key.lock().get(&key) {
            Some(list) => list.first().map(|(_, cb)| cb.clone()),
            None => None,
        };
        match first {
            Some(cb) => {
                cb(value);
                true
            }
            None => false,
        }
    }

    fn remove(&self, key: Key, id: u64) {
        let mut map = self.by_key.lock();
        if let Some(list) = map.get_mut(&key) {
            list.retain(|(i, _)| *i != id);
            if list.is_empty() {
                map.remove(&key);
            }
        }
    }
}

/// A registered listener. It stays registered until
/// [`unsubscribe`](Self::unsubscribe) is called or the client is dropped:
/// dropping the handle, e.g. with `let _ = client.on()...`, keeps it, so the
/// easy thing is the safe one.
pub struct Subscription {
    listeners: Weak<Listeners>,
    key: Key,
    id: u64,
}

impl Subscription {
    /// Removes the listener; it is not called for anything that arrives
    /// after this returns.
    pub fn unsubscribe(self) {
        if let Some(listeners) = self.listeners.upgrade() {
            listeners.remove(self.key, self.id);
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("key", &self.key)
            .field("id", &self.id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn several_listeners_and_unsubscribe() {
        let listeners = Arc::new(Listeners::default());
        let hits = Arc::new(AtomicUsize::new(0));
        let h1 = hits.clone();
        let a = listeners.add(
            Key::Open,
            Arc::new(move |_| {
                h1.fetch_add(1, Ordering::SeqCst);
            }),
        );
        let h2 = hits.clone();
        let b = listeners.add(
            Key::Open,
            Arc::new(move |_| {
                h2.fetch_add(10, Ordering::SeqCst);
            }),
        );
        listeners.emit(Key::Open, &());
        assert_eq!(hits.load(Ordering::SeqCst), 11);
        a.unsubscribe();
        listeners.emit(Key::Open, &());
        assert_eq!(hits.load(Ordering::SeqCst), 21);
        // Dropping the handle keeps the listener.
        drop(b);
        listeners.emit(Key::Open, &());
        assert_eq!(hits.load(Ordering::SeqCst), 31);
    }
}
