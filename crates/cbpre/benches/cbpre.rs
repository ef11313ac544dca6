//! The scheme's costs, and the ratios the README promises, measured in one run.
//!
//! `cargo bench -p cbpre --bench cbpre` runs the criterion benchmarks, then prints a
//! Markdown table of every operation's time and its cost in scalar multiplications.

use cbpre::{CaSecretKey, DataKey, Identity, KeyRequest, Meta, PublicKey, SecretKey};
use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use std::path::PathBuf;

struct Setup {
	rng: ChaCha20Rng,
	ca: CaSecretKey,
	a: SecretKey,
	b: SecretKey,
	b_pub: PublicKey,
}

fn setup() -> Setup {
	let mut rng = ChaCha20Rng::seed_from_u64(2019);
	let ca = CaSecretKey::generate_with_rng(&mut rng);
	let enroll = |id: &[u8], rng: &mut ChaCha20Rng| {
		let req = KeyRequest::new_with_rng(Identity::new(id).expect("id"), rng);
		let resp = ca.issue_with_rng(req.message(), rng).expect("issue");
		req.finish(&resp, &ca.public_key()).expect("finish")
	};
	let a = enroll(b"\xa0\xe6\xf8\xb6\xd2\x01", &mut rng);
	let b = enroll(b"requester-bob", &mut rng);
	let b_pub = PublicKey::derive(b.id(), b.certificate(), &ca.public_key()).expect("P_B");
	Setup { rng, ca, a, b, b_pub }
}

fn benches(c: &mut Criterion) {
	// The fixed-base table is built here, not in the first sample of a benchmark.
	cbpre::warm_up();
	let Setup { mut rng, ca, a, b, b_pub } = setup();
	let ca_pub = ca.public_key();
	let meta = Meta::new(*a.id(), 29_000_000);
	let (m, capsule) = a.encapsulate(meta.epoch).expect("encapsulate");
	let rk = a.rekey(&meta, &b_pub).expect("rekey");
	let verified = capsule.verify(a.public_key()).expect("verify");
	let delivered = verified.re_encrypt(&rk, *b.id());

	let mut g = c.benchmark_group("cbpre");
	g.bench_function("scalar_mul", |bn| {
		use p256::elliptic_curve::Field;
		let p = p256::ProjectivePoint::GENERATOR * p256::Scalar::random(&mut rng);
		let k = p256::Scalar::random(&mut rng);
		// A variable-base, constant-time multiplication: the unit cost.
		bn.iter(|| black_box(black_box(p) * black_box(k)))
	});
	g.bench_function("encrypt", |bn| {
		bn.iter(|| cbpre::hazmat::encrypt(&a, black_box(&m), black_box(&meta)))
	});
	g.bench_function("rekeygen", |bn| bn.iter(|| a.rekey(black_box(&meta), black_box(&b_pub))));
	g.bench_function("reencrypt", |bn| {
		bn.iter(|| black_box(&verified).re_encrypt(black_box(&rk), *b.id()))
	});
	g.bench_function("verify", |bn| bn.iter(|| black_box(&capsule).verify(a.public_key())));
	g.bench_function("decrypt1", |bn| bn.iter(|| a.decrypt1(black_box(&capsule))));
	g.bench_function("decrypt2", |bn| {
		bn.iter(|| b.decrypt2(a.public_key(), black_box(&delivered)))
	});
	g.bench_function("public_key_derive", |bn| {
		bn.iter(|| PublicKey::derive(b.id(), b.certificate(), black_box(&ca_pub)))
	});
	let req = KeyRequest::new_with_rng(Identity::new(b"new-user").expect("id"), &mut rng);
	let secret = req.secret_bytes();
	let resp = ca.issue_with_rng(req.message(), &mut rng).expect("issue");
	g.bench_function("cert_issue", |bn| {
		bn.iter(|| ca.issue_with_rng(black_box(req.message()), &mut rng))
	});
	g.bench_function("key_reconstruct", |bn| {
		bn.iter(|| {
			let req = KeyRequest::from_secret(Identity::new(b"new-user").expect("id"), &*secret)
				.expect("resume");
			req.finish(black_box(&resp), &ca_pub)
		})
	});
	g.finish();

	// `k*G` from the fixed-base table against p256's generic multiplication, for one
	// scalar. The crate keeps the table private; `CaSecretKey::public_key` is
	// `alpha*G` from it and nothing else.
	let mut g = c.benchmark_group("fixed_base");
	let k = {
		use p256::elliptic_curve::Field;
		p256::Scalar::random(&mut rng)
	};
	let alpha = CaSecretKey::from_bytes(&k.to_bytes()).expect("a non-zero scalar");
	g.bench_function("mul_base", |bn| bn.iter(|| black_box(&alpha).public_key()));
	g.bench_function("generic", |bn| {
		bn.iter(|| black_box(p256::ProjectivePoint::GENERATOR) * black_box(k))
	});
	g.finish();

	let mut g = c.benchmark_group("dem");
	for size in [64usize, 4096] {
		let plain = vec![0x5au8; size];
		let record = m.seal_with_rng(&meta, b"ts=1700000000", &plain, &mut rng).expect("seal");
		g.throughput(Throughput::Bytes(size as u64));
		g.bench_with_input(BenchmarkId::new("seal", size), &plain, |bn, plain| {
			bn.iter(|| m.seal_with_rng(&meta, b"ts=1700000000", black_box(plain), &mut rng))
		});
		g.bench_with_input(BenchmarkId::new("open", size), &record, |bn, record| {
			bn.iter(|| m.open(&meta, black_box(record)))
		});
	}
	g.finish();
	let _: &DataKey = &m;

	// Against NuCypher's umbral-pre 0.11 in the same process: each side's encrypt
	// (cbpre's capsule for the sensor's own key; umbral's capsule and a 32-byte DEM
	// ciphertext), signature, re-key for one delegatee (one kfrag, threshold 1),
	// re-encryption and the delegatee's decryption.
	let mut g = c.benchmark_group("versus_umbral");
	let sig_msg = [0x11u8; 64];
	g.bench_function("cbpre_encrypt", |bn| {
		bn.iter(|| cbpre::hazmat::encrypt(&a, black_box(&m), black_box(&meta)))
	});
	g.bench_function("cbpre_sign", |bn| bn.iter(|| a.sign_with_rng(black_box(&sig_msg), &mut rng)));
	g.bench_function("cbpre_rekey", |bn| bn.iter(|| a.rekey(black_box(&meta), black_box(&b_pub))));
	g.bench_function("cbpre_reencrypt", |bn| {
		bn.iter(|| black_box(&verified).re_encrypt(black_box(&rk), *b.id()))
	});
	g.bench_function("cbpre_decrypt2", |bn| {
		bn.iter(|| b.decrypt2(a.public_key(), black_box(&delivered)))
	});
	let alice = umbral_pre::SecretKey::random_with_rng(&mut rng);
	let alice_pk = alice.public_key();
	let signer = umbral_pre::Signer::new(umbral_pre::SecretKey::random_with_rng(&mut rng));
	let bob = umbral_pre::SecretKey::random_with_rng(&mut rng);
	let bob_pk = bob.public_key();
	let plain = [0x5au8; 32];
	let (u_capsule, u_ciphertext) =
		umbral_pre::encrypt_with_rng(&mut rng, &alice_pk, &plain).expect("umbral encrypt");
	let kfrag = umbral_pre::generate_kfrags_with_rng(
		&mut rng, &alice, &bob_pk, &signer, 1, 1, false, false,
	)[0]
	.clone();
	let cfrag = umbral_pre::reencrypt_with_rng(&mut rng, &u_capsule, kfrag.clone());
	g.bench_function("umbral_encrypt", |bn| {
		bn.iter(|| umbral_pre::encrypt_with_rng(&mut rng, black_box(&alice_pk), black_box(&plain)))
	});
	g.bench_function("umbral_sign", |bn| {
		bn.iter(|| signer.sign_with_rng(&mut rng, black_box(&sig_msg)))
	});
	g.bench_function("umbral_rekey", |bn| {
		bn.iter(|| {
			umbral_pre::generate_kfrags_with_rng(
				&mut rng,
				black_box(&alice),
				black_box(&bob_pk),
				&signer,
				1,
				1,
				false,
				false,
			)
		})
	});
	g.bench_function("umbral_reencrypt", |bn| {
		bn.iter(|| umbral_pre::reencrypt_with_rng(&mut rng, black_box(&u_capsule), kfrag.clone()))
	});
	g.bench_function("umbral_decrypt2", |bn| {
		bn.iter(|| {
			umbral_pre::decrypt_reencrypted(
				&bob,
				&alice_pk,
				black_box(&u_capsule),
				[cfrag.clone()],
				black_box(&u_ciphertext),
			)
		})
	});
	g.finish();
}

/// Criterion's output folder, found the way criterion finds it.
fn criterion_dir() -> Option<PathBuf> {
	if let Some(home) = std::env::var_os("CRITERION_HOME") {
		return Some(home.into());
	}
	if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
		return Some(PathBuf::from(target).join("criterion"));
	}
	// target/<profile>/deps/<bench binary>
	let exe = std::env::current_exe().ok()?;
	Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

fn mean_ns(dir: &std::path::Path, id: &str) -> Option<f64> {
	let text = std::fs::read_to_string(dir.join(id).join("new/estimates.json")).ok()?;
	let v: serde_json::Value = serde_json::from_str(&text).ok()?;
	v["mean"]["point_estimate"].as_f64()
}

fn print_table() {
	let Some(dir) = criterion_dir() else { return };
	let Some(unit) = mean_ns(&dir, "cbpre/scalar_mul") else { return };
	let fmt = |ns: f64| {
		if ns >= 1e6 {
			format!("{:.2} ms", ns / 1e6)
		} else if ns >= 1e3 {
			format!("{:.1} µs", ns / 1e3)
		} else {
			format!("{ns:.1} ns")
		}
	};
	println!("\n| operation | mean | scalar mults |");
	println!("|---|---:|---:|");
	for op in [
		"scalar_mul",
		"encrypt",
		"rekeygen",
		"reencrypt",
		"verify",
		"decrypt1",
		"decrypt2",
		"public_key_derive",
		"cert_issue",
		"key_reconstruct",
	] {
		if let Some(ns) = mean_ns(&dir, &format!("cbpre/{op}")) {
			println!("| {op} | {} | {:.2} |", fmt(ns), ns / unit);
		}
	}
	for op in ["fixed_base/mul_base", "fixed_base/generic"] {
		if let Some(ns) = mean_ns(&dir, op) {
			println!("| {op} | {} | {:.2} |", fmt(ns), ns / unit);
		}
	}
	println!("\n| versus umbral-pre 0.11 | cbpre | umbral-pre | cbpre ÷ umbral-pre |");
	println!("|---|---:|---:|---:|");
	for op in ["encrypt", "sign", "rekey", "reencrypt", "decrypt2"] {
		let ours = mean_ns(&dir, &format!("versus_umbral/cbpre_{op}"));
		let theirs = mean_ns(&dir, &format!("versus_umbral/umbral_{op}"));
		if let (Some(ours), Some(theirs)) = (ours, theirs) {
			println!("| {op} | {} | {} | {:.2}× |", fmt(ours), fmt(theirs), ours / theirs);
		}
	}
	println!("\n| record | size | mean | throughput |");
	println!("|---|---:|---:|---:|");
	for op in ["seal", "open"] {
		for size in [64usize, 4096] {
			if let Some(ns) = mean_ns(&dir, &format!("dem/{op}/{size}")) {
				let mbs = size as f64 / ns * 1e3;
				println!("| {op} | {size} B | {} | {mbs:.0} MB/s |", fmt(ns));
			}
		}
	}
}

fn main() {
	let mut c = Criterion::default().configure_from_args();
	benches(&mut c);
	c.final_summary();
	print_table();
}
