# Written by python -m glue.quant.tracks --mk (the method registry, glue/quant/): do not edit.
# A track's variants: recipes/quantize/<variant>.yaml whose method runs on the family, and the
# trained methods of that family.
ENCODER_VARIANTS := bnb_int8 bnb_nf4 ptq_dynamic ptq_pt2e ptq_static qat qat_pt2e scratch_int8_dequant scratch_int8_intmm qlora
DECODER_VARIANTS := bnb_int8 bnb_nf4 scratch_int8_dequant scratch_int8_intmm qlora qlora_sft
