;; touchbomb: examples/wasm/bomb.wat that also writes to every page it
;; grows (a byte every 4 KiB), so the pages take room in the host (the
;; RSS test measures it).
(module
  (memory (export "memory") 1)

  ;; Offset 0: an OK frame with no payload (8 zero bytes).
  ;; Offset 16: the manifest's frame, an 8-byte OK header (zeros) and the
  ;; manifest's 60 bytes of JSON at 24.
  (data (i32.const 24) "{\"abi\":1,\"kind\":\"transform\",\"name\":\"bomb\",\"version\":\"1.0.0\"}")

  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))

  ;; rivven_alloc: one input buffer at 1024, the memory grown to hold it.
  (func (export "rivven_alloc") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.shr_u (i32.add (i32.add (i32.const 1024) (local.get $size)) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
          (then (unreachable)))))
    (i32.const 1024))

  (func (export "rivven_get_manifest") (result i64)
    (call $pack (i32.const 16) (i32.const 68)))

  (func (export "rivven_init") (param i32 i32) (result i64)
    (call $pack (i32.const 0) (i32.const 8)))

  (func (export "rivven_transform") (param i32 i32) (result i64)
    (local $old i32)
    (local $p i32)
    (loop $grow
      (local.set $old (memory.grow (i32.const 16)))
      (if (i32.eq (local.get $old) (i32.const -1))
        (then (unreachable)))
      (local.set $p (i32.const 0))
      (loop $touch
        (i32.store8 (i32.add (i32.shl (local.get $old) (i32.const 16)) (local.get $p)) (i32.const 1))
        (local.set $p (i32.add (local.get $p) (i32.const 4096)))
        (br_if $touch (i32.lt_u (local.get $p) (i32.const 1048576))))
      (br $grow))
    (unreachable)))
