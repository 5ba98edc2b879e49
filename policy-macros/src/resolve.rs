//! Name resolution: what each name a flow uses stands for, among the block's declarations,
//! its `use` imports and paths that rustc resolves.

use std::collections::{BTreeMap, BTreeSet};

use syn::Ident;

use crate::ast::EndpointRef;
use crate::checked::{CheckedCidr, CheckedEnd, CheckedNamespace, CheckedWorkload, LocalKind};
use crate::ctxt::Errors;
use crate::suggest::Suggester;

/// What a name declared in this block stands for.
#[derive(Clone, Copy)]
pub enum Declared<'c, 'a> {
    Namespace(&'c CheckedNamespace<'a>),
    Workload(&'c CheckedNamespace<'a>, &'c CheckedWorkload<'a>),
    Cidr,
}

/// Every name the block declares, with what it stands for.
pub fn declarations<'c, 'a>(
    namespaces: &'c [CheckedNamespace<'a>],
    cidrs: &'c [CheckedCidr<'a>],
) -> BTreeMap<String, Declared<'c, 'a>> {
    let mut declared = BTreeMap::new();
    for namespace in namespaces {
        declared.insert(ident_text(namespace.ident), Declared::Namespace(namespace));
        for workload in &namespace.workloads {
            declared.insert(
                ident_text(workload.ident),
                Declared::Workload(namespace, workload),
            );
        }
    }
    for cidr in cidrs {
        declared.insert(ident_text(cidr.ident), Declared::Cidr);
    }
    declared
}

/// The names a block's `use` items bring in, and whether a glob may bring in more.
pub struct Imports {
    pub names: BTreeSet<String>,
    pub glob: bool,
}

impl Imports {
    pub fn of(uses: &[&syn::ItemUse]) -> Imports {
        let mut imports = Imports {
            names: BTreeSet::new(),
            glob: false,
        };
        for item in uses {
            imports.collect(&item.tree);
        }
        imports
    }

    fn collect(&mut self, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => self.collect(&path.tree),
            syn::UseTree::Name(name) => drop(self.names.insert(ident_text(&name.ident))),
            syn::UseTree::Rename(rename) => drop(self.names.insert(ident_text(&rename.rename))),
            syn::UseTree::Glob(_) => self.glob = true,
            syn::UseTree::Group(group) => group.items.iter().for_each(|tree| self.collect(tree)),
        }
    }
}

/// Rule: each end of a flow names something declared in the block or brought in by
/// `use`, or is a path that rustc resolves; otherwise the edge dangles.
pub fn resolve_end<'a, 'n>(
    end: &'a EndpointRef,
    declared: &BTreeMap<String, Declared>,
    imports: &Imports,
    suggester: &mut Suggester<'n, impl Iterator<Item = &'n String>>,
    errors: &mut Errors,
) -> Option<CheckedEnd<'a>> {
    let path = match end {
        EndpointRef::AllManaged(_) => return Some(CheckedEnd::AllManaged),
        EndpointRef::Path(path) => path,
    };
    let Some(ident) = path.get_ident() else {
        return Some(CheckedEnd::Foreign(path));
    };
    let text = ident_text(ident);
    if let Some(declared) = declared.get(&text) {
        let kind = match declared {
            Declared::Namespace(_) => LocalKind::Namespace,
            Declared::Workload(..) => LocalKind::Workload,
            Declared::Cidr => LocalKind::Cidr,
        };
        return Some(CheckedEnd::Local(ident, kind));
    }
    if imports.names.contains(&text) || imports.glob {
        return Some(CheckedEnd::Foreign(path));
    }
    let message = match suggester.closest(&text) {
        Some(close) => format!("`{text}` is not declared; did you mean `{close}`?"),
        None => format!(
            "`{text}` is not declared; declare it in a `namespace` block or as a `cidr`, or bring it in with `use`"
        ),
    };
    errors.push(ident.span(), message);
    None
}

/// The identifier without a raw `r#` prefix.
pub fn ident_text(ident: &Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").map(str::to_owned).unwrap_or(text)
}

pub fn end_text(end: &EndpointRef) -> String {
    match end {
        EndpointRef::AllManaged(_) => "*".to_owned(),
        EndpointRef::Path(path) => {
            let segments: Vec<String> =
                path.segments.iter().map(|s| ident_text(&s.ident)).collect();
            let prefix = if path.leading_colon.is_some() {
                "::"
            } else {
                ""
            };
            format!("{prefix}{}", segments.join("::"))
        }
    }
}
