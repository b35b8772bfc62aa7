fn main() {
    // The grammar lives in grammar/ (not src/) so that the pipeline is visible at the top level.
    lalrpop::Configuration::new()
        .set_in_dir("grammar")
        .set_out_dir(std::env::var("OUT_DIR").unwrap())
        .process()
        .expect("lalrpop failed to generate the parser");
    println!("cargo:rerun-if-changed=grammar");
}
