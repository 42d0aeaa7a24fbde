;; echo: a transform that returns its input batch unchanged, the no-op
;; plugin of the host's benchmarks. The input is written 8 bytes past the
;; start of its buffer, so the result frame's header goes in front of it
;; and nothing is copied. Build: wat2wasm echo.wat -o echo.wasm
(module
  (memory (export "memory") 1)

  ;; Offset 0: an OK frame with no payload (8 zero bytes).
  ;; Offset 16: the manifest's frame, an 8-byte OK header (zeros) and the
  ;; manifest's 130 bytes of JSON at 24.
  (data (i32.const 24) "{\"abi\":1,\"kind\":\"transform\",\"name\":\"echo\",\"version\":\"1.0.0\",\"description\":\"returns its input batch unchanged\",\"keeps_schema\":true}")

  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))

  ;; rivven_alloc: the buffer is at 1024; the input goes at 1032, after
  ;; room for the frame header. The memory grows to hold it.
  (func (export "rivven_alloc") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.shr_u (i32.add (i32.add (i32.const 1032) (local.get $size)) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
          (then (unreachable)))))
    (i32.const 1032))

  (func (export "rivven_get_manifest") (result i64)
    (call $pack (i32.const 16) (i32.const 138)))

  (func (export "rivven_init") (param i32 i32) (result i64)
    (call $pack (i32.const 0) (i32.const 8)))

  ;; rivven_transform: status 0 and error length 0 in the 8 bytes before
  ;; the input; the frame is those 8 bytes and the input.
  (func (export "rivven_transform") (param $ptr i32) (param $len i32) (result i64)
    (i64.store (i32.sub (local.get $ptr) (i32.const 8)) (i64.const 0))
    (call $pack
      (i32.sub (local.get $ptr) (i32.const 8))
      (i32.add (local.get $len) (i32.const 8)))))
