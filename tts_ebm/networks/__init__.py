"""Network building blocks shared by the acoustic model and the fields: masked layers, the frame
network every field is built on, and the energy network. Nothing here imports `tts_ebm.model`
or `tts_ebm.fields`, so both can use it."""
