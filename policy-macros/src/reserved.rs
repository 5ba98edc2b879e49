//! Names the expansion itself uses: a block declaring or importing one would clash with
//! the generated item, an error rustc reports at the whole macro call. The macro reports
//! it at the name instead.

use syn::Ident;

use crate::ctxt::Errors;
use crate::resolve::ident_text;

/// Why a name is reserved, or `None` if it is free.
pub fn reserved(name: &str) -> Option<&'static str> {
    const PREFIX: &str = "__zero_trust";
    if name == "POLICY" {
        return Some("`POLICY` is the item listing what the block declares");
    }
    let starts_with_prefix = name
        .get(..PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(PREFIX));
    starts_with_prefix
        .then_some("names starting with `__zero_trust` are reserved for the macro's hidden items")
}

/// Rule: a namespace, workload or cidr does not take a name the expansion uses. Returns
/// whether the name is free.
pub fn name_is_not_reserved(ident: &Ident, what: &str, errors: &mut Errors) -> bool {
    let Some(why) = reserved(&ident_text(ident)) else {
        return true;
    };
    errors.push(ident.span(), format!("{why}; rename the {what}"));
    false
}

/// Rule: a `use` does not bring in a name the expansion uses.
pub fn imports_are_not_reserved(tree: &syn::UseTree, errors: &mut Errors) {
    let mut found = Vec::new();
    reserved_imports(tree, &mut found);
    for (ident, why) in found {
        errors.push(
            ident.span(),
            format!("{why}; bring it in under another name with `as`"),
        );
    }
}

/// Whether a `use` brings in a name the expansion uses.
pub fn imports_reserved(tree: &syn::UseTree) -> bool {
    let mut found = Vec::new();
    reserved_imports(tree, &mut found);
    !found.is_empty()
}

fn reserved_imports<'t>(tree: &'t syn::UseTree, found: &mut Vec<(&'t Ident, &'static str)>) {
    let ident = match tree {
        syn::UseTree::Path(path) => return reserved_imports(&path.tree, found),
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                reserved_imports(tree, found);
            }
            return;
        }
        syn::UseTree::Glob(_) => return,
        syn::UseTree::Name(name) => &name.ident,
        syn::UseTree::Rename(rename) => &rename.rename,
    };
    if let Some(why) = reserved(&ident_text(ident)) {
        found.push((ident, why));
    }
}
