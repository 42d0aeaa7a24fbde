;; spinbig: a transform that never returns for an input batch larger than
;; 256 bytes and returns a smaller one unchanged (as echo.wat does), for
;; the test that a call killed at its deadline does not stop the next
;; batch: the host drops the instance and the next call gets a new one.
(module
  (memory (export "memory") 1)
  (data (i32.const 24) "{\"abi\":1,\"kind\":\"transform\",\"name\":\"spinbig\",\"version\":\"1.0.0\",\"keeps_schema\":true}")

  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))

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
    (call $pack (i32.const 16) (i32.const 91)))

  (func (export "rivven_init") (param i32 i32) (result i64)
    (call $pack (i32.const 0) (i32.const 8)))

  (func (export "rivven_transform") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.gt_u (local.get $len) (i32.const 256))
      (then (loop $forever (br $forever))))
    (i64.store (i32.sub (local.get $ptr) (i32.const 8)) (i64.const 0))
    (call $pack
      (i32.sub (local.get $ptr) (i32.const 8))
      (i32.add (local.get $len) (i32.const 8)))))
