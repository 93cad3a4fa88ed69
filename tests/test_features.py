import librosa
import numpy as np
import pytest
import scipy.signal
import torch

from data_prep.audio import AudioError, load_audio
from data_prep.features import HOP_LENGTH, N_MELS, SAMPLE_RATE, mel_spectrogram, n_frames
from tts_ebm.errors import UserInputError


def reference_mel(wav: np.ndarray) -> np.ndarray:
    """The HiFi-GAN definition written out directly in float64 numpy."""
    padded = np.pad(wav.astype(np.float64), (384, 384), mode="reflect")
    count = 1 + (len(padded) - 1024) // 256
    frames = np.stack([padded[i * 256 : i * 256 + 1024] for i in range(count)])
    window = scipy.signal.get_window("hann", 1024, fftbins=True)
    spec = np.fft.rfft(frames * window, axis=1).T
    magnitude = np.sqrt(spec.real**2 + spec.imag**2 + 1e-9)
    basis = librosa.filters.mel(
        sr=22050, n_fft=1024, n_mels=80, fmin=0, fmax=8000, htk=False, norm="slaney"
    )
    return np.log(np.maximum(basis @ magnitude, 1e-5))


def test_mel_matches_reference_on_sine_sweep():
    t = np.arange(22050) / 22050
    sweep = 0.8 * scipy.signal.chirp(t, f0=50, t1=1.0, f1=10000, method="logarithmic")
    sweep = sweep.astype(np.float32)
    expected = reference_mel(sweep)
    mel64 = mel_spectrogram(torch.from_numpy(sweep).double())
    assert mel64.shape == expected.shape == (80, 22050 // 256)
    assert np.abs(mel64.numpy() - expected).max() < 1e-4
    # float32 in, float32 out (the production path), same accuracy down to the 1e-5 clamp
    mel32 = mel_spectrogram(torch.from_numpy(sweep))
    assert mel32.dtype == torch.float32
    assert np.abs(mel32.numpy() - expected).max() < 1e-4
    assert (expected < np.log(1e-3)).any()  # the comparison does cover near-floor values
    # the sweep really moves up the mel axis: early frames peak low, late frames high
    peaks = mel32.argmax(dim=0)
    assert peaks[2] < 20 and peaks[-3] > 60


@pytest.mark.parametrize("n", [385, 512, 1000, 22050, 22050 + 255, 44100])
def test_frame_count_is_floor_n_over_hop(n):
    wav = torch.randn(n).clamp(-1, 1)
    assert mel_spectrogram(wav).shape == (N_MELS, n // HOP_LENGTH) == (80, n_frames(n))


def test_batched_numpy_and_silence():
    wav = np.random.default_rng(0).uniform(-1, 1, (2, 3, 4096)).astype(np.float32)
    mel = mel_spectrogram(wav)
    assert isinstance(mel, np.ndarray) and mel.dtype == np.float32 and mel.shape == (2, 3, 80, 16)
    single = mel_spectrogram(torch.from_numpy(wav[1, 2]))
    assert np.allclose(mel[1, 2], single.numpy(), atol=1e-5)
    silent = mel_spectrogram(torch.zeros(2048))
    assert torch.allclose(silent, torch.full_like(silent, np.log(1e-5)))


def test_mel_rejects_bad_input():
    with pytest.raises(UserInputError, match="16000 Hz"):
        mel_spectrogram(torch.zeros(4096), sample_rate=16000)
    with pytest.raises(UserInputError, match="too short"):
        mel_spectrogram(torch.zeros(100))
    with pytest.raises(UserInputError, match="floating point"):
        mel_spectrogram(torch.zeros(4096, dtype=torch.int16))


def test_load_audio_mixes_down_and_resamples(make_wav):
    stereo = make_wav("stereo.wav", seconds=0.5, channels=2, amplitude=0.5)
    wav = load_audio(stereo)
    assert wav.dtype == np.float32 and wav.ndim == 1 and len(wav) == SAMPLE_RATE // 2
    assert abs(np.abs(wav).max() - 0.5) < 1e-3
    low = make_wav("low.wav", seconds=1.0, sample_rate=16000, freq=440)
    with pytest.warns(UserWarning, match="low.wav from 16000 Hz"):
        resampled = load_audio(low)
    assert len(resampled) == SAMPLE_RATE
    spectrum = np.abs(np.fft.rfft(resampled))
    assert abs(spectrum.argmax() * SAMPLE_RATE / len(resampled) - 440) < 2


def test_load_audio_errors_name_the_file(make_wav, tmp_path):
    with pytest.raises(AudioError, match="silent.wav"):
        load_audio(make_wav("silent.wav", amplitude=0.0))
    with pytest.raises(AudioError, match="empty.wav"):
        load_audio(make_wav("empty.wav", seconds=0.0))
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00garbage" * 10)
    with pytest.raises(AudioError, match="corrupt.wav"):
        load_audio(corrupt)
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        load_audio(tmp_path / "missing.wav")
    assert issubclass(AudioError, UserInputError)
