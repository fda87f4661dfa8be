//! The migrations are embedded at compile time: a new migration file must rebuild the crate.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
