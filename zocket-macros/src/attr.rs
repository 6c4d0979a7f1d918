//! Reading zocket's own attributes off structs, fields and modules, and
//! stripping them so the compiler never sees them.

use syn::{Attribute, Expr, LitInt, LitStr, Path, Type};

use crate::ctxt::Ctxt;

/// What a struct is in the router.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Incoming,
    Outgoing,
    Headers,
}

impl Role {
    pub fn attr_name(self) -> &'static str {
        match self {
            Role::Incoming => "incoming",
            Role::Outgoing => "outgoing",
            Role::Headers => "headers",
        }
    }
}

/// `incoming`, `zocket::incoming`, … → the role.
fn role_of(path: &Path) -> Option<Role> {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let name = match segments.as_slice() {
        [name] => name,
        [krate, name] if krate == "zocket" => name,
        _ => return None,
    };
    match name.as_str() {
        "incoming" => Some(Role::Incoming),
        "outgoing" => Some(Role::Outgoing),
        "headers" => Some(Role::Headers),
        _ => None,
    }
}

fn is_zocket(attr: &Attribute) -> bool {
    attr.path().is_ident("zocket")
}

/// Sets an attribute's value once. A second value is an error, not a silent
/// overwrite (serde's `Attr::set` does the same); parsing goes on so that
/// every mistake is reported at once.
fn set_once<T>(cx: &Ctxt, slot: &mut Option<T>, path: &Path, value: T) {
    if slot.is_some() {
        let name = path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        cx.error(path, format!("duplicate zocket attribute `{name}`"));
    } else {
        *slot = Some(value);
    }
}

/// zocket attributes found on a struct.
#[derive(Default)]
pub struct StructAttrs {
    /// The role attribute, and the attribute itself (for spans).
    pub role: Option<(Role, Attribute)>,
    pub rename: Option<LitStr>,
    pub validate: Option<Path>,
    /// `reply = Type`: what a request of this message answers.
    pub reply: Option<Type>,
    /// `error = Type`: the handler's typed failure.
    pub error: Option<Type>,
    /// `rate = "5/s"`: the per-connection rate of this incoming message,
    /// checked (with `burst`) when the model is built.
    pub rate: Option<LitStr>,
    /// `burst = 10`: how many may arrive at once.
    pub burst: Option<LitInt>,
}

/// Takes the role and `#[zocket(..)]` attributes off a struct. A second role
/// attribute is an error.
pub fn take_struct_attrs(cx: &Ctxt, attrs: &mut Vec<Attribute>) -> StructAttrs {
    let mut out = StructAttrs::default();
    attrs.retain(|attr| {
        if let Some(role) = role_of(attr.path()) {
            if let Some((first, _)) = &out.role {
                cx.error(
                    attr,
                    format!(
                        "a struct is one kind of router item; it is already `#[{}]`",
                        first.attr_name()
                    ),
                );
                return false;
            }
            if let syn::Meta::List(_) = &attr.meta {
                let res = attr.parse_nested_meta(|meta| {
                    if role == Role::Headers {
                        Err(meta.error("`#[headers]` takes no arguments"))
                    } else if meta.path.is_ident("rename") {
                        set_once(cx, &mut out.rename, &meta.path, meta.value()?.parse()?);
                        Ok(())
                    } else if meta.path.is_ident("reply") {
                        set_once(cx, &mut out.reply, &meta.path, meta.value()?.parse()?);
                        Ok(())
                    } else if meta.path.is_ident("error") {
                        set_once(cx, &mut out.error, &meta.path, meta.value()?.parse()?);
                        Ok(())
                    } else if meta.path.is_ident("rate") {
                        set_once(cx, &mut out.rate, &meta.path, meta.value()?.parse()?);
                        Ok(())
                    } else if meta.path.is_ident("burst") {
                        set_once(cx, &mut out.burst, &meta.path, meta.value()?.parse()?);
                        Ok(())
                    } else {
                        Err(meta.error(format!(
                            "unknown `#[{}]` argument; expected `rename = \"wireName\"`, `reply = Type`, `error = Type`, `rate = \"5/s\"` or `burst = 10`",
                            role.attr_name(),
                        )))
                    }
                });
                if let Err(e) = res {
                    cx.syn_error(e);
                }
            } else if let syn::Meta::NameValue(nv) = &attr.meta {
                cx.error(nv, format!("write `#[{}]` or `#[{}(rename = \"..\")]`", role.attr_name(), role.attr_name()));
            }
            out.role = Some((role, attr.clone()));
            return false;
        }
        if is_zocket(attr) {
            let res = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("validate") {
                    set_once(cx, &mut out.validate, &meta.path, meta.value()?.parse()?);
                    Ok(())
                } else if meta.path.is_ident("rename") {
                    set_once(cx, &mut out.rename, &meta.path, meta.value()?.parse()?);
                    Ok(())
                } else {
                    Err(meta.error(
                        "unknown zocket attribute on a struct; expected `validate = path` or `rename = \"..\"`",
                    ))
                }
            });
            if let Err(e) = res {
                cx.syn_error(e);
            }
            return false;
        }
        true
    });
    out
}

/// zocket attributes found on a field.
#[derive(Default)]
pub struct FieldAttrs {
    /// `Some(None)` for `#[zocket(default)]`, `Some(Some(expr))` for a value.
    pub default: Option<Option<Expr>>,
    pub validate: Option<Path>,
    pub rename: Option<LitStr>,
}

pub fn take_field_attrs(cx: &Ctxt, attrs: &mut Vec<Attribute>) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    attrs.retain(|attr| {
        if let Some(role) = role_of(attr.path()) {
            cx.error(attr, format!("`#[{}]` goes on a struct, not on a field", role.attr_name()));
            return false;
        }
        if !is_zocket(attr) {
            return true;
        }
        let res = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                let value = if meta.input.peek(syn::Token![=]) {
                    Some(meta.value()?.parse()?)
                } else {
                    None
                };
                set_once(cx, &mut out.default, &meta.path, value);
                Ok(())
            } else if meta.path.is_ident("validate") {
                set_once(cx, &mut out.validate, &meta.path, meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("rename") {
                set_once(cx, &mut out.rename, &meta.path, meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown zocket attribute on a field; expected `default`, `default = value`, `validate = path` or `rename = \"..\"`",
                ))
            }
        });
        if let Err(e) = res {
            cx.syn_error(e);
        }
        false
    });
    out
}

/// `#[zocket(rename = "..")]` on a namespace module.
pub fn take_mod_attrs(cx: &Ctxt, attrs: &mut Vec<Attribute>) -> Option<LitStr> {
    let mut rename = None;
    attrs.retain(|attr| {
        if let Some(role) = role_of(attr.path()) {
            cx.error(
                attr,
                format!(
                    "`#[{}]` goes on a struct, not on a module",
                    role.attr_name()
                ),
            );
            return false;
        }
        if !is_zocket(attr) {
            return true;
        }
        let res = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                set_once(cx, &mut rename, &meta.path, meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta
                    .error("unknown zocket attribute on a namespace; expected `rename = \"..\"`"))
            }
        });
        if let Err(e) = res {
            cx.syn_error(e);
        }
        false
    });
    rename
}

/// A role attribute on something that is not a struct: an error, and taken
/// off so that the compiler does not also report an unknown attribute.
pub fn reject_roles(cx: &Ctxt, attrs: &mut Vec<Attribute>, what: &str) {
    attrs.retain(|attr| {
        let Some(role) = role_of(attr.path()) else {
            return true;
        };
        cx.error(
            attr,
            format!(
                "`#[{}]` can only be put on a struct with named fields, not on {what}",
                role.attr_name()
            ),
        );
        false
    });
}
